// Parsing of ExportTraceServiceResponse (partial success) and gzip compression of request bodies.
#include "otlp_response.hpp"

#include <zlib.h>

#include <cctype>
#include <charconv>
#include <protozero/pbf_reader.hpp>

namespace skein::detail::otlp {

bool parse_response_protobuf(std::string_view body, PartialSuccess& out) noexcept {
  out = PartialSuccess{};
  try {
    protozero::pbf_reader response(body.data(), body.size());
    while (response.next()) {
      if (response.tag() != 1 ||
          response.wire_type() != protozero::pbf_wire_type::length_delimited) {
        response.skip();
        continue;
      }
      protozero::pbf_reader ps = response.get_message();
      while (ps.next()) {
        if (ps.tag() == 1 && ps.wire_type() == protozero::pbf_wire_type::varint) {
          out.rejected_spans = ps.get_int64();
        } else if (ps.tag() == 2 && ps.wire_type() == protozero::pbf_wire_type::length_delimited) {
          out.error_message = std::string(ps.get_view());
        } else {
          ps.skip();
        }
      }
    }
    return true;
  } catch (...) {
    out = PartialSuccess{};
    return false;
  }
}

namespace {

// A small validating JSON reader, just enough to find partialSuccess in a response and skip
// everything else. Depth-limited; never reads past the end.
class JsonScan {
 public:
  explicit JsonScan(std::string_view s) : s_(s) {}

  bool response(PartialSuccess& out) {
    ws();
    if (at_end()) return true;  // an empty body
    if (!object([&](std::string_view key) {
          if (key == "partialSuccess" || key == "partial_success") return partial(out);
          return skip_value(0);
        })) {
      return false;
    }
    ws();
    return at_end();
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  void ws() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (peek() != c) return false;
    ++i_;
    return true;
  }

  template <class OnKey>
  bool object(OnKey on_key) {
    if (!eat('{')) return false;
    ws();
    if (peek() == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      std::string key;
      ws();
      if (!string(key) || !eat(':') || !on_key(std::string_view(key))) return false;
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      return eat('}');
    }
  }

  bool partial(PartialSuccess& out) {
    ws();
    if (peek() == 'n') return literal("null");
    return object([&](std::string_view key) {
      ws();
      if (key == "rejectedSpans" || key == "rejected_spans") return integer(out.rejected_spans);
      if (key == "errorMessage" || key == "error_message") {
        if (peek() == 'n') return literal("null");
        return string(out.error_message);
      }
      return skip_value(1);
    });
  }

  // An int64 as a JSON number or a decimal string.
  bool integer(std::int64_t& v) {
    ws();
    if (peek() == 'n') return literal("null");
    std::string text;
    if (peek() == '"') {
      if (!string(text)) return false;
    } else {
      std::size_t b = i_;
      if (!number()) return false;
      text.assign(s_.substr(b, i_ - b));
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return ec == std::errc() && ptr == text.data() + text.size();
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  bool number() {
    std::size_t b = i_;
    if (peek() == '-') ++i_;
    if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
    while (std::isdigit(static_cast<unsigned char>(peek()))) ++i_;
    if (peek() == '.') {
      ++i_;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++i_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++i_;
    }
    return i_ > b;
  }

  // A string; escapes are decoded (\uXXXX to UTF-8, surrogate pairs included).
  bool string(std::string& out) {
    out.clear();
    if (peek() != '"') return false;
    ++i_;
    while (!at_end()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (!literal("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  bool hex4(std::uint32_t& v) {
    if (i_ + 4 > s_.size()) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    return true;
  }

  static void utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool skip_value(int depth) {
    if (depth > 64) return false;
    ws();
    char c = peek();
    if (c == '{') return object([&](std::string_view) { return skip_value(depth + 1); });
    if (c == '[') {
      ++i_;
      ws();
      if (peek() == ']') {
        ++i_;
        return true;
      }
      for (;;) {
        if (!skip_value(depth + 1)) return false;
        ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        return eat(']');
      }
    }
    if (c == '"') {
      std::string ignored;
      return string(ignored);
    }
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    return number();
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

bool parse_response_json(std::string_view body, PartialSuccess& out) noexcept {
  out = PartialSuccess{};
  try {
    JsonScan scan(body);
    if (scan.response(out)) return true;
  } catch (...) {
  }
  out = PartialSuccess{};
  return false;
}

bool gzip_compress(std::string_view in, std::string& out, int level) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out.resize(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END;
}

}  // namespace skein::detail::otlp

// gunzip for request bodies and the ExportTraceServiceResponse a receiver answers with.
#include <zlib.h>

#include <cstdio>

#include <protozero/pbf_writer.hpp>

#include "otlp/decode.hpp"

namespace skein::otlp {

DecodeError gunzip(std::string_view in, std::string& out, std::size_t max_size) {
  out.clear();
  z_stream z{};
  // windowBits 15 + 32: detect gzip or zlib headers.
  if (inflateInit2(&z, 15 + 32) != Z_OK) return DecodeError{"gzip: inflateInit failed"};
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char chunk[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      std::string why =
          z.msg != nullptr ? z.msg : (rc == Z_BUF_ERROR ? "truncated stream" : "corrupt stream");
      inflateEnd(&z);
      out.clear();
      return DecodeError{"gzip: " + why};
    }
    std::size_t produced = sizeof chunk - z.avail_out;
    if (out.size() + produced > max_size) {
      inflateEnd(&z);
      out.clear();
      return DecodeError{"gzip: body larger than " + std::to_string(max_size) +
                         " bytes once decompressed"};
    }
    out.append(chunk, produced);
    if (rc == Z_OK && produced == 0 && z.avail_in == 0) {
      inflateEnd(&z);
      out.clear();
      return DecodeError{"gzip: truncated stream"};
    }
  }
  inflateEnd(&z);
  return {};
}

std::string encode_response_protobuf(std::int64_t rejected_spans, std::string_view error_message) {
  std::string out;
  if (rejected_spans == 0 && error_message.empty()) return out;
  protozero::pbf_writer w(out);
  protozero::pbf_writer ps(w, 1);  // ExportTraceServiceResponse.partial_success
  if (rejected_spans != 0) ps.add_int64(1, rejected_spans);
  if (!error_message.empty()) ps.add_string(2, error_message.data(), error_message.size());
  return out;
}

std::string encode_response_json(std::int64_t rejected_spans, std::string_view error_message) {
  if (rejected_spans == 0 && error_message.empty()) return "{}";
  std::string out =
      "{\"partialSuccess\":{\"rejectedSpans\":\"" + std::to_string(rejected_spans) + "\"";
  if (!error_message.empty()) {
    out += ",\"errorMessage\":\"";
    for (unsigned char c : error_message) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }
  return out + "}}";
}

}  // namespace skein::otlp

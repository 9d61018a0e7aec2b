// skein/skein.hpp — everything in one include.
//
// skein is a tracing SDK for LLM applications and distributed C++ services: `Tracer::init`,
// RAII spans, `traced()` / `SKEIN_TRACE()`, `enrich_span`, and exporters. See README.md.
#pragma once

#include "skein/async.hpp"
#include "skein/config.hpp"
#include "skein/context.hpp"
#include "skein/correlation.hpp"
#include "skein/enrich.hpp"
#include "skein/exporter.hpp"
#include "skein/propagation.hpp"
#include "skein/resources.hpp"
#include "skein/retry.hpp"
#include "skein/sampler.hpp"
#include "skein/session.hpp"
#include "skein/span.hpp"
#include "skein/trace.hpp"
#include "skein/tracer.hpp"
#include "skein/value.hpp"

// skein: the local collector, store and viewer. Everything lives in the collector library
// (src/collector/); see docs/collector.md.
#include "collector/cli.hpp"

int main(int argc, char** argv) {
  return skein::collector::run_cli(argc, argv);
}

// The `skein` command line: serve, traces, show, sessions, session, stats, import.
#pragma once

namespace skein::collector {

/// Parses the arguments and runs the command; the process exit code.
int run_cli(int argc, char** argv);

}  // namespace skein::collector

#include <iostream>

#include "cli/commands.h"

namespace flare::cli {

int report_error(const Status& status) {
  std::cerr << "flare: error: " << status.message() << "\n";
  return status.code() == ErrorCode::kInvalidArgument ? 2 : 1;
}

}  // namespace flare::cli

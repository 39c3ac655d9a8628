#include "cli/output_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace flare::cli {

namespace {

std::string temp_name(const std::string& path) { return path + ".tmp-" + std::to_string(getpid()); }

}  // namespace

Status check_writable(const std::string& path) {
  if (path.empty() || path == "-") return Status::ok();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kIo, "output " + path + " is a directory; give a file name");
  }
  std::string tmp = temp_name(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::from_errno(errno, "cannot create output file " + path);
  std::fclose(f);
  std::remove(tmp.c_str());
  return Status::ok();
}

Status write_output(const std::string& path, const std::function<Status(std::ostream&)>& produce) {
  if (path.empty() || path == "-") {
    Status st = produce(std::cout);
    std::cout.flush();
    if (st.is_ok() && !std::cout) return Status(ErrorCode::kIo, "writing to stdout failed");
    return st;
  }
  std::string tmp = temp_name(path);
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return Status::from_errno(errno, "cannot create output file " + path);
  Status st = produce(out);
  out.close();
  if (st.is_ok() && !out) st = Status(ErrorCode::kIo, "writing " + path + " failed");
  if (st.is_ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::from_errno(errno, "renaming output to " + path);
  }
  if (!st.is_ok()) std::remove(tmp.c_str());
  return st;
}

}  // namespace flare::cli

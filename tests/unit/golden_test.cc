// Recordings of released format versions, kept with the outputs they must
// convert to. A reader or format change that breaks old files fails here.
// After an intended change to a view (not to the format), regenerate the
// expected files with: flare convert F --to folded > F.folded;
// flare info F > F.info.txt; flare top F -n 0 > F.top.txt
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "recorder/reader.h"
#include "viewer/folded.h"
#include "viewer/info.h"
#include "viewer/top.h"

namespace flare {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f) << "missing " << p;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<fs::path> golden_recordings() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(FLARE_TEST_DATA_DIR) / "golden")) {
    if (entry.path().extension() == ".flare") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The known workload's truth: both worker chains present, whole, on the
// right threads, in a capture of several chunks.
void expect_workload_chains(const fs::path& file) {
  auto rec = rec::read_recording(file.string());
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  std::ostringstream folded;
  ASSERT_TRUE(viewer::write_folded(*rec, {.user_only = true}, folded).is_ok());
  std::string text = folded.str();
  EXPECT_NE(text.find("worker_a;"), std::string::npos);
  EXPECT_NE(text.find("thread_a_entry;a_level1;a_level2;a_level3;a_spin_leaf "), std::string::npos) << text;
  EXPECT_NE(text.find("thread_b_entry;b_level1;b_level2;b_level3;b_spin_leaf "), std::string::npos) << text;
  EXPECT_GE(rec->chunks.size(), 2u);
}

TEST(Golden, RecordingsOfEveryVersionStillConvert) {
  std::vector<fs::path> files = golden_recordings();
  ASSERT_FALSE(files.empty());
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    auto rec = rec::read_recording(file.string());
    ASSERT_TRUE(rec.is_ok()) << rec.status().message();
    EXPECT_TRUE(rec->finalized);
    EXPECT_GT(rec->samples.size(), 50u);

    std::ostringstream folded, info, top;
    ASSERT_TRUE(viewer::write_folded(*rec, {}, folded).is_ok());
    ASSERT_TRUE(viewer::write_info(*rec, false, info).is_ok());
    viewer::TopOptions top_options;
    top_options.limit = 0;
    ASSERT_TRUE(viewer::write_top(*rec, top_options, top).is_ok());
    fs::path base = file;
    base.replace_extension();
    EXPECT_EQ(folded.str(), slurp(base.string() + ".folded"));
    EXPECT_EQ(info.str(), slurp(base.string() + ".info.txt"));
    EXPECT_EQ(top.str(), slurp(base.string() + ".top.txt"));
  }
}

// The truth holds in the kept captures too: 1.0 stores samples and stacks
// as per-sample and per-stack records, 2.0 as sample batches and stack deltas.
TEST(Golden, KeptCaptureHoldsTheWorkloadChains) {
  for (const char* name : {"fp_chains-v1.0.flare", "fp_chains-v2.0.flare"}) {
    SCOPED_TRACE(name);
    expect_workload_chains(fs::path(FLARE_TEST_DATA_DIR) / "golden" / name);
  }
}

TEST(Golden, EachFileIsOfTheVersionItsNameSays) {
  for (const fs::path& file : golden_recordings()) {
    auto rec = rec::read_recording(file.string());
    ASSERT_TRUE(rec.is_ok()) << rec.status().message();
    std::string version = "-v" + std::to_string(rec->header.major) + "." + std::to_string(rec->header.minor) + ".";
    EXPECT_NE(file.filename().string().find(version), std::string::npos) << file;
    EXPECT_EQ(rec->unknown_records_skipped, 0u) << file;
  }
}

}  // namespace
}  // namespace flare

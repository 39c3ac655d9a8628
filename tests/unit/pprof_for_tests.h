// Decoding what write_pprof wrote, with the generated protobuf classes, and
// looking things up in it while asserting that references resolve.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "profile.pb.h"
#include "tests/unit/gunzip_for_tests.h"
#include "viewer/pprof.h"

namespace flare::testing {

namespace pb = perftools::profiles;

inline pb::Profile convert(const rec::Recording& rec, viewer::ViewOptions options = {}) {
  std::ostringstream out;
  Status st = viewer::write_pprof(rec, options, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  std::string bytes = out.str();
  EXPECT_GE(bytes.size(), 2u);
  if (bytes.size() >= 2) {
    EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  }
  pb::Profile profile;
  EXPECT_TRUE(profile.ParseFromString(gunzip(bytes)));
  return profile;
}

// Lookup helpers that also assert the references resolve.
struct Index {
  explicit Index(const pb::Profile& p) : p(p) {
    for (const auto& m : p.mapping()) mappings[m.id()] = &m;
    for (const auto& l : p.location()) locations[l.id()] = &l;
    for (const auto& f : p.function()) functions[f.id()] = &f;
  }
  const std::string& str(int64_t i) const { return p.string_table(static_cast<int>(i)); }
  const pb::Function& function_of(uint64_t location_id) const {
    const pb::Location& l = *locations.at(location_id);
    EXPECT_EQ(l.line_size(), 1);
    return *functions.at(l.line(0).function_id());
  }
  std::string name_of(uint64_t location_id) const { return str(function_of(location_id).name()); }
  std::vector<std::string> names(const pb::Sample& s) const {
    std::vector<std::string> out;
    for (uint64_t id : s.location_id()) out.push_back(name_of(id));
    return out;
  }
  std::string label_str(const pb::Sample& s, const std::string& key) const {
    for (const auto& l : s.label()) {
      if (str(l.key()) == key) return str(l.str());
    }
    return "<missing>";
  }
  int64_t label_num(const pb::Sample& s, const std::string& key) const {
    for (const auto& l : s.label()) {
      if (str(l.key()) == key) return l.num();
    }
    return -1;
  }
  const pb::Mapping* mapping_named(const std::string& file) const {
    for (const auto& m : p.mapping()) {
      if (str(m.filename()) == file) return &m;
    }
    return nullptr;
  }

  const pb::Profile& p;
  std::map<uint64_t, const pb::Mapping*> mappings;
  std::map<uint64_t, const pb::Location*> locations;
  std::map<uint64_t, const pb::Function*> functions;
};

}  // namespace flare::testing

#include <elf.h>
#include <gtest/gtest.h>

#include <string>

#include "agent/symbol_index.h"

namespace flare::agent {
namespace {

SymbolCandidate sym(uint64_t address, uint64_t size, const char* name, uint8_t binding = STB_GLOBAL,
                    uint64_t section_end = UINT64_MAX) {
  return SymbolCandidate{address, size, name, binding, section_end};
}

std::string find(const SymbolIndex& index, uint64_t address) {
  const char* name = index.find(address);
  return name != nullptr ? name : "<none>";
}

TEST(SymbolIndex, SizedSymbolsCoverExactlyTheirRange) {
  SymbolIndex index = SymbolIndex::build({sym(0x2000, 0x10, "second"), sym(0x1000, 0x100, "first")});
  EXPECT_EQ(find(index, 0x0fff), "<none>");
  EXPECT_EQ(find(index, 0x1000), "first");
  EXPECT_EQ(find(index, 0x10ff), "first");
  EXPECT_EQ(find(index, 0x1100), "<none>") << "a gap between functions is not the previous function";
  EXPECT_EQ(find(index, 0x200f), "second");
  EXPECT_EQ(find(index, 0x2010), "<none>");
}

TEST(SymbolIndex, AliasesPreferTheExpectedName) {
  SymbolIndex index = SymbolIndex::build({
      sym(0x1000, 0x20, "__libc_malloc"),
      sym(0x1000, 0x20, "malloc"),
      sym(0x2000, 0x8, "__getpid"),
      sym(0x2000, 0x8, "getpid", STB_WEAK),
      sym(0x3000, 0x8, "local_name", STB_LOCAL),
      sym(0x3000, 0x8, "exported", STB_WEAK),
  });
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(find(index, 0x1004), "malloc");
  EXPECT_EQ(find(index, 0x2004), "getpid");
  EXPECT_EQ(find(index, 0x3004), "exported");
}

TEST(SymbolIndex, SizelessLabelsExtendToNextSymbolOrSectionEnd) {
  SymbolIndex index = SymbolIndex::build({
      sym(0x1000, 0, "asm_entry", STB_GLOBAL, 0x1800),
      sym(0x1400, 0, "asm_other", STB_GLOBAL, 0x1800),
      sym(0x2000, 0x10, "c_function"),
  });
  EXPECT_EQ(find(index, 0x13ff), "asm_entry");
  EXPECT_EQ(find(index, 0x1400), "asm_other");
  EXPECT_EQ(find(index, 0x17ff), "asm_other");
  EXPECT_EQ(find(index, 0x1800), "<none>") << "not past the end of its section";
}

TEST(SymbolIndex, LabelsInsideSizedFunctionsAreIgnored) {
  SymbolIndex index = SymbolIndex::build({
      sym(0x1000, 0x100, "outer"),
      sym(0x1040, 0, "inner_label"),
      sym(0x2000, 0x10, "next"),
  });
  EXPECT_EQ(find(index, 0x1050), "outer");
  EXPECT_EQ(find(index, 0x1100), "<none>");
}

TEST(SymbolIndex, NestedSizedSymbolsResolveToTheInnermost) {
  SymbolIndex index = SymbolIndex::build({
      sym(0x1000, 0x300, "big"),
      sym(0x1100, 0x10, "small_inside"),
      sym(0x1200, 0x10, "another_inside"),
  });
  EXPECT_EQ(find(index, 0x1000), "big");
  EXPECT_EQ(find(index, 0x1105), "small_inside");
  EXPECT_EQ(find(index, 0x1150), "big") << "covered by the enclosing symbol after the nested one ends";
  EXPECT_EQ(find(index, 0x1250), "big");
  EXPECT_EQ(find(index, 0x1300), "<none>");
}

TEST(SymbolIndex, Empty) {
  SymbolIndex index = SymbolIndex::build({});
  EXPECT_EQ(index.find(0x1000), nullptr);
}

}  // namespace
}  // namespace flare::agent

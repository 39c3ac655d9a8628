// The CFI unwinder without BPF: DWARF expressions as CFI uses them, the
// frame-pointer fallback and every way an unwind can end on crafted stacks,
// and a real unwind of this test's own stack (built -O2, without frame
// pointers) through its own binary's and libc's CFI.
#include <dwarf.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/auxv.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent/call_frame_rules.h"
#include "agent/dwarf_expression.h"
#include "agent/process_symbolizer.h"
#include "agent/user_stack_unwinder.h"

namespace flare::agent {
namespace {

Dwarf_Op op(uint8_t atom, uint64_t number = 0, uint64_t number2 = 0) {
  Dwarf_Op o{};
  o.atom = atom;
  o.number = number;
  o.number2 = number2;
  return o;
}

constexpr int kSp = UserRegisters::kStackPointer;
constexpr int kBp = UserRegisters::kFramePointer;
constexpr int kIp = UserRegisters::kInstructionPointer;

TEST(DwarfExpression, PltEntryCfaDependsOnThePcWithinTheEntry) {
  // The CFA of an x86-64 .plt entry, as libc's CFI gives it: rsp + 8, plus 8
  // more once the pc is past the entry's push (offset >= 11 within 16 bytes).
  const std::vector<Dwarf_Op> plt = {op(DW_OP_breg7, 8), op(DW_OP_breg16, 0), op(DW_OP_lit15), op(DW_OP_and),
                                     op(DW_OP_lit11),    op(DW_OP_ge),         op(DW_OP_lit3),  op(DW_OP_shl),
                                     op(DW_OP_plus)};
  UserRegisters regs;
  regs.set(kSp, 0x7000);
  regs.set(kIp, 0x26016);  // offset 6 in its entry
  ExpressionResult before_push = evaluate_dwarf_expression(plt, regs, std::nullopt, StackWindow());
  ASSERT_TRUE(before_push.ok());
  EXPECT_EQ(before_push.value, 0x7008u);
  regs.set(kIp, 0x2601b);  // offset 11
  ExpressionResult after_push = evaluate_dwarf_expression(plt, regs, std::nullopt, StackWindow());
  ASSERT_TRUE(after_push.ok());
  EXPECT_EQ(after_push.value, 0x7010u);
}

TEST(DwarfExpression, SavedRegisterLocationsAndValues) {
  UserRegisters regs;
  const std::vector<Dwarf_Op> saved_at_cfa_minus_16 = {op(DW_OP_call_frame_cfa),
                                                       op(DW_OP_plus_uconst, static_cast<uint64_t>(-16))};
  ExpressionResult where = evaluate_dwarf_expression(saved_at_cfa_minus_16, regs, 0x8000, StackWindow());
  ASSERT_TRUE(where.ok());
  EXPECT_FALSE(where.is_value);
  EXPECT_EQ(where.value, 0x7ff0u);

  const std::vector<Dwarf_Op> value_is_cfa = {op(DW_OP_call_frame_cfa), op(DW_OP_stack_value)};
  ExpressionResult value = evaluate_dwarf_expression(value_is_cfa, regs, 0x8000, StackWindow());
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(value.is_value);
  EXPECT_EQ(value.value, 0x8000u);
}

TEST(DwarfExpression, DereferencesOnlyTheStackCopy) {
  uint64_t words[2] = {0x1111, 0x2222};
  StackWindow window(0x1000, reinterpret_cast<const uint8_t*>(words), sizeof(words));
  UserRegisters regs;
  regs.set(kBp, 0x1008);
  const std::vector<Dwarf_Op> deref_bp = {op(DW_OP_breg6, 0), op(DW_OP_deref)};
  ExpressionResult inside = evaluate_dwarf_expression(deref_bp, regs, std::nullopt, window);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(inside.value, 0x2222u);

  regs.set(kBp, 0x1010);  // one past the copy
  EXPECT_EQ(evaluate_dwarf_expression(deref_bp, regs, std::nullopt, window).error,
            ExpressionError::kMemoryOutsideWindow);
  regs.forget(kBp);
  EXPECT_EQ(evaluate_dwarf_expression(deref_bp, regs, std::nullopt, window).error,
            ExpressionError::kUnknownRegister);
  EXPECT_EQ(evaluate_dwarf_expression({}, regs, std::nullopt, window).error, ExpressionError::kUnsupported);
}

// A process image for the unwinder: which addresses are mapped; no CFI
// anywhere, so auto mode walks frame pointers.
class FakeCode : public CodeLocator {
 public:
  explicit FakeCode(uint64_t text_start, uint64_t text_end) : start_(text_start), end_(text_end) {}
  CodeAt locate_code(uint64_t address) override {
    CodeAt at;
    at.mapped = address >= start_ && address < end_;
    return at;
  }

 private:
  uint64_t start_, end_;
};

// A stack of `frames` frame-pointer frames at [base, ...): frame i's saved
// rbp points at frame i+1, its return address is 0x400000 + i; the last
// frame's saved rbp and return address are 0, as at a thread's start.
struct FramePointerStack {
  std::vector<uint64_t> words;
  uint64_t base;
  FramePointerStack(uint64_t base_address, int frames) : base(base_address) {
    for (int i = 0; i < frames; ++i) {
      bool last = i == frames - 1;
      words.push_back(last ? 0 : base + 16 * static_cast<uint64_t>(i + 1));  // saved rbp
      words.push_back(last ? 0 : 0x400000 + static_cast<uint64_t>(i) + 1);   // return address
    }
  }
  // The first `bytes` of the stack; `cut`: the stack goes on beyond them.
  StackWindow window(size_t bytes, bool cut = true) const {
    return StackWindow(base, reinterpret_cast<const uint8_t*>(words.data()), std::min(bytes, words.size() * 8), cut);
  }
  UserRegisters registers() const {
    UserRegisters regs;
    regs.set(kIp, 0x400000);
    regs.set(kSp, base);
    regs.set(kBp, base);
    return regs;
  }
};

TEST(UserStackUnwinder, AutoFallsBackToFramePointersWhereThereIsNoCfi) {
  FramePointerStack stack(0x7ff000, 5);
  FakeCode code(0x400000, 0x500000);
  UnwindResult result;
  UserStackUnwinder(UnwindMode::kAuto, 512).unwind(stack.registers(), stack.window(4096), code, result);
  EXPECT_EQ(result.status, UnwindStatus::kComplete);
  EXPECT_EQ(result.pcs, (std::vector<uint64_t>{0x400000, 0x400001, 0x400002, 0x400003, 0x400004}));
  EXPECT_EQ(result.frame_pointer_steps, 5u);
}

TEST(UserStackUnwinder, DwarfModeStopsAtCodeWithoutCfi) {
  FramePointerStack stack(0x7ff000, 5);
  FakeCode code(0x400000, 0x500000);
  UnwindResult result;
  UserStackUnwinder(UnwindMode::kDwarf, 512).unwind(stack.registers(), stack.window(4096), code, result);
  EXPECT_EQ(result.status, UnwindStatus::kNoUnwindInfo);
  EXPECT_EQ(result.pcs, std::vector<uint64_t>{0x400000});

  FakeCode nothing_mapped(0, 0);
  UserStackUnwinder(UnwindMode::kDwarf, 512).unwind(stack.registers(), stack.window(4096), nothing_mapped, result);
  EXPECT_EQ(result.status, UnwindStatus::kUnknownMapping);
}

TEST(UserStackUnwinder, SaysWhereAStackWasCut) {
  FramePointerStack stack(0x7ff000, 5);
  FakeCode code(0x400000, 0x500000);
  UnwindResult result;
  // The copy ends inside the third frame.
  UserStackUnwinder(UnwindMode::kAuto, 512).unwind(stack.registers(), stack.window(40), code, result);
  EXPECT_EQ(result.status, UnwindStatus::kTruncatedWindow);
  EXPECT_EQ(result.pcs.size(), 3u);
  // The same 40 bytes as the whole stack: the frame pointer points past its
  // end, which is no frame at all.
  UserStackUnwinder(UnwindMode::kAuto, 512).unwind(stack.registers(), stack.window(40, false), code, result);
  EXPECT_EQ(result.status, UnwindStatus::kNoUnwindInfo);

  UserStackUnwinder(UnwindMode::kAuto, 2).unwind(stack.registers(), stack.window(4096), code, result);
  EXPECT_EQ(result.status, UnwindStatus::kTruncatedDepth);
  EXPECT_EQ(result.pcs.size(), 2u);
}

TEST(UserStackUnwinder, StopsAtAFramePointerThatDoesNotClimbTheStack) {
  FramePointerStack stack(0x7ff000, 5);
  stack.words[2] = stack.base;  // frame 1's saved rbp points back at frame 0
  FakeCode code(0x400000, 0x500000);
  UnwindResult result;
  UserStackUnwinder(UnwindMode::kAuto, 512).unwind(stack.registers(), stack.window(4096), code, result);
  // Code without CFI whose rbp is no frame pointer: not a frame to follow.
  EXPECT_EQ(result.status, UnwindStatus::kNoUnwindInfo);
  EXPECT_EQ(result.pcs.size(), 3u);
}

// ---- a real stack: this process's own, unwound through its CFI ----

struct Capture {
  UserRegisters regs;
  std::vector<uint8_t> stack;
};

// The end of the mapping holding `address` (the main thread's [stack]).
uint64_t mapping_end(uint64_t address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t start = 0, end = 0;
    char dash = 0;
    std::istringstream in(line);
    in >> std::hex >> start >> dash >> end;
    if (address >= start && address < end) return end;
  }
  return 0;
}

__attribute__((noinline)) void capture_here(Capture& out) {
  ucontext_t context;
  getcontext(&context);
  const greg_t* g = context.uc_mcontext.gregs;
  const int order[UserRegisters::kCount] = {REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI,
                                            REG_RBP, REG_RSP, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                            REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
  for (int r = 0; r < UserRegisters::kCount; ++r) out.regs.set(r, static_cast<uint64_t>(g[order[r]]));
  uint64_t sp = out.regs.get(kSp);
  uint64_t end = std::min<uint64_t>(mapping_end(sp), sp + 65536);
  out.stack.assign(reinterpret_cast<const uint8_t*>(sp), reinterpret_cast<const uint8_t*>(end));
  asm volatile("" ::: "memory");  // keeps the capture a real call, not a tail call
}
__attribute__((noinline)) void unwind_level2(Capture& out) {
  capture_here(out);
  asm volatile("" ::: "memory");
}
__attribute__((noinline)) void unwind_level1(Capture& out) {
  unwind_level2(out);
  asm volatile("" ::: "memory");
}

TEST(UserStackUnwinder, UnwindsThisProcessThroughItsOwnCfi) {
  Capture capture;
  unwind_level1(capture);
  ProcessSymbolizer process(static_cast<uint32_t>(getpid()));
  StackWindow window(capture.regs.get(kSp), capture.stack.data(), capture.stack.size(), capture.stack.size() == 65536);
  UnwindResult result;
  UserStackUnwinder(UnwindMode::kDwarf, 512).unwind(capture.regs, window, process, result);

  std::vector<std::string> names;
  for (size_t i = 0; i < result.pcs.size(); ++i) {
    UserFrame frame = process.resolve(i == 0 ? result.pcs[i] : result.pcs[i] - 1);
    names.push_back(frame.symbol.function);
  }
  std::string all;
  for (const std::string& n : names) all += n + "\n";
  ASSERT_GE(names.size(), 4u) << all;
  EXPECT_NE(names[0].find("capture_here"), std::string::npos) << all;
  EXPECT_NE(names[1].find("unwind_level2"), std::string::npos) << all;
  EXPECT_NE(names[2].find("unwind_level1"), std::string::npos) << all;
  EXPECT_NE(names[3].find("UnwindsThisProcessThroughItsOwnCfi"), std::string::npos) << all;
  // Down through gtest and libc to _start, whose CFI ends the stack.
  EXPECT_EQ(result.status, UnwindStatus::kComplete) << unwind_status_name(result.status) << "\n" << all;
  EXPECT_NE(all.find("main"), std::string::npos) << all;
  EXPECT_EQ(result.frame_pointer_steps, 0u);
}

// [vdso] is no file, but flare's own copy of the image stands for every
// process's: its clock_gettime (called by most programs, often sampled) gets
// its name and its CFI.
TEST(ProcessSymbolizer, NamesAndUnwindsVdsoCode) {
  const uint64_t base = getauxval(AT_SYSINFO_EHDR);
  ASSERT_NE(base, 0u);
  elf_version(EV_CURRENT);
  // The vDSO's own symbol table gives the truth: __vdso_clock_gettime's address.
  Elf* elf = elf_memory(reinterpret_cast<char*>(base), 1 << 16);
  ASSERT_NE(elf, nullptr);
  uint64_t clock_gettime_vaddr = 0;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; data != nullptr && i < shdr.sh_size / shdr.sh_entsize; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
      if (name != nullptr && std::string(name) == "__vdso_clock_gettime") clock_gettime_vaddr = sym.st_value;
    }
  }
  elf_end(elf);
  ASSERT_NE(clock_gettime_vaddr, 0u);

  ProcessSymbolizer process(static_cast<uint32_t>(getpid()));
  const uint64_t address = base + clock_gettime_vaddr + 4;  // vDSO vaddrs start at 0
  UserFrame frame = process.resolve(address);
  ASSERT_NE(frame.mapping, nullptr);
  EXPECT_EQ(frame.mapping->path, "[vdso]");
  EXPECT_NE(frame.symbol.function.find("clock_gettime"), std::string::npos) << frame.symbol.function;
  CodeAt at = process.locate_code(address);
  EXPECT_TRUE(at.mapped);
  ASSERT_NE(at.rules, nullptr);
  EXPECT_NE(at.rules->find(at.elf_vaddr), nullptr);
}

// The cached rules must equal what libdw computes for every address, in
// whatever order addresses are first seen. Descending order queries the code
// after an epilogue before the epilogue itself: libdw then reports a row start
// (remembered before the epilogue) that would wrongly cover the epilogue.
TEST(CallFrameRules, CachedRowsAgreeWithLibdwAtEveryAddress) {
  std::string libc;
  {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
      size_t at = line.find('/');
      if (at != std::string::npos && line.find("libc.so") != std::string::npos) libc = line.substr(at);
    }
  }
  ASSERT_FALSE(libc.empty()) << "libc not mapped?";
  elf_version(EV_CURRENT);
  int fd = ::open(libc.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << libc;
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  ASSERT_NE(elf, nullptr);
  Dwarf_CFI* cfi = dwarf_getcfi_elf(elf);
  ASSERT_NE(cfi, nullptr);
  // .text of libc: where its code (and its CFI) is.
  uint64_t text = 0, text_size = 0;
  size_t shstrndx = 0;
  elf_getshdrstrndx(elf, &shstrndx);
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) != nullptr && std::string(elf_strptr(elf, shstrndx, shdr.sh_name)) == ".text") {
      text = shdr.sh_addr;
      text_size = shdr.sh_size;
    }
  }
  ASSERT_GT(text_size, 0u);

  CallFrameRules rules(cfi, 0);
  const uint64_t span = std::min<uint64_t>(text_size, 96 * 1024);
  size_t compared = 0;
  for (uint64_t address = text + span; address-- > text;) {
    const FrameRule* cached = rules.find(address);
    Dwarf_Frame* frame = nullptr;
    if (dwarf_cfi_addrframe(cfi, address, &frame) != 0) {
      EXPECT_EQ(cached, nullptr) << std::hex << address;
      continue;
    }
    Dwarf_Op* ops = nullptr;
    size_t nops = 0;
    ASSERT_EQ(dwarf_frame_cfa(frame, &ops, &nops), 0);
    ASSERT_NE(cached, nullptr) << std::hex << address;
    ASSERT_EQ(cached->cfa.size(), nops) << std::hex << address;
    for (size_t i = 0; i < nops; ++i) {
      ASSERT_EQ(cached->cfa[i].atom, ops[i].atom) << std::hex << address;
      ASSERT_EQ(cached->cfa[i].number, ops[i].number) << std::hex << address << " CFA offset";
      ASSERT_EQ(cached->cfa[i].number2, ops[i].number2) << std::hex << address;
    }
    std::free(frame);
    ++compared;
  }
  EXPECT_GT(compared, span / 2);
  elf_end(elf);
  ::close(fd);
}

}  // namespace
}  // namespace flare::agent

#include "agent/kernel_symbolizer.h"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "agent/proc_maps.h"

namespace flare::agent {
namespace {

bool is_text_type(char type) { return type == 't' || type == 'T' || type == 'w' || type == 'W'; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Plain loops: string_view::find_first_of calls memchr per character, which
// dominated parsing ~120k lines.
std::string_view next_token(std::string_view& rest) {
  size_t begin = 0;
  while (begin < rest.size() && is_blank(rest[begin])) ++begin;
  size_t end = begin;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  std::string_view token = rest.substr(begin, end - begin);
  rest.remove_prefix(end);
  return token;
}

}  // namespace

Result<KernelSymbolizer> KernelSymbolizer::load(const std::string& path) {
  FLARE_ASSIGN_OR_RETURN(std::string text, read_proc_file(path));
  return parse(text);
}

KernelSymbolizer KernelSymbolizer::parse(std::string_view text) {
  KernelSymbolizer out;
  // Line format: "ffffffff81000000 T _stext" or "... t func\t[module]".
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);

    std::string_view address_text = next_token(line);
    std::string_view type = next_token(line);
    std::string_view name = next_token(line);
    std::string_view module = next_token(line);
    uint64_t address = 0;
    auto [ptr, ec] = std::from_chars(address_text.data(), address_text.data() + address_text.size(), address, 16);
    if (ec != std::errc() || ptr != address_text.data() + address_text.size() || type.size() != 1 ||
        name.empty() || !is_text_type(type[0])) {
      continue;
    }
    if (address != 0) out.addresses_visible_ = true;
    Symbol symbol{address, static_cast<uint32_t>(out.names_.size()), 0};
    out.names_.append(name);
    if (!module.empty()) {
      out.names_ += ' ';
      out.names_.append(module);  // already bracketed: "[module]"
    }
    symbol.name_length = static_cast<uint32_t>(out.names_.size() - symbol.name_offset);
    out.symbols_.push_back(symbol);
  }
  // stable: among aliases at one address, the first listed wins.
  std::stable_sort(out.symbols_.begin(), out.symbols_.end(),
                   [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
  out.names_.shrink_to_fit();
  out.symbols_.shrink_to_fit();
  return out;
}

SourceSymbol KernelSymbolizer::resolve(uint64_t address) const {
  SourceSymbol symbol;
  if (!addresses_visible_) return symbol;
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                             [](uint64_t a, const Symbol& s) { return a < s.address; });
  if (it == symbols_.begin()) return symbol;
  --it;
  while (it != symbols_.begin() && std::prev(it)->address == it->address) --it;
  symbol.function.assign(names_, it->name_offset, it->name_length);
  symbol.resolved = true;
  return symbol;
}

}  // namespace flare::agent

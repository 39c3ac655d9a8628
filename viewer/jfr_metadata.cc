#include "viewer/jfr_metadata.h"

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace flare::viewer::jfr {

namespace {

// One element of the metadata tree: the reader rebuilds types from "class"
// elements with "field" and "annotation" children, all names and attribute
// values being indexes into a string table that precedes the tree.
struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<Element> children;

  Element& attribute(std::string key, std::string value) {
    attributes.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  Element& add(Element child) {
    children.push_back(std::move(child));
    return *this;
  }
};

Element annotation(TypeId type, const std::string& value) {
  Element e{"annotation", {}, {}};
  e.attribute("class", std::to_string(type));
  if (!value.empty()) e.attribute("value", value);
  return e;
}

Element label(const std::string& text) { return annotation(kLabelAnnotation, text); }

enum FieldFlags : unsigned {
  kPlain = 0,
  kConstantPool = 1 << 0,
  kArray = 1 << 1,
};

// Units as jdk.jfr.Timestamp, jdk.jfr.Timespan and jdk.jfr.DataAmount name them.
enum class Unit { kNone, kTicksTimestamp, kTicksTimespan, kNanoseconds, kMillisSinceEpoch, kMilliseconds, kBytes };

Element field(const std::string& name, TypeId type, const std::string& text, unsigned flags = kPlain,
              Unit unit = Unit::kNone) {
  Element e{"field", {}, {}};
  e.attribute("name", name).attribute("class", std::to_string(type));
  if (flags & kConstantPool) e.attribute("constantPool", "true");
  if (flags & kArray) e.attribute("dimension", "1");
  e.add(label(text));
  switch (unit) {
    case Unit::kNone:
      break;
    case Unit::kTicksTimestamp:
      e.add(annotation(kTimestampAnnotation, "TICKS"));
      break;
    case Unit::kTicksTimespan:
      e.add(annotation(kTimespanAnnotation, "TICKS"));
      break;
    case Unit::kNanoseconds:
      e.add(annotation(kTimespanAnnotation, "NANOSECONDS"));
      break;
    case Unit::kMillisSinceEpoch:
      e.add(annotation(kTimestampAnnotation, "MILLISECONDS_SINCE_EPOCH"));
      break;
    case Unit::kMilliseconds:
      e.add(annotation(kTimespanAnnotation, "MILLISECONDS"));
      break;
    case Unit::kBytes:
      e.add(annotation(kDataAmountAnnotation, "BYTES"));
      break;
  }
  return e;
}

Element type(const std::string& name, TypeId id, const std::string& text = "", const char* super_type = nullptr,
             bool simple = false) {
  Element e{"class", {}, {}};
  e.attribute("name", name).attribute("id", std::to_string(id));
  if (super_type) e.attribute("superType", super_type);
  if (simple) e.attribute("simpleType", "true");
  if (!text.empty()) e.add(label(text));
  return e;
}

constexpr const char* kEventSuper = "jdk.jfr.Event";
constexpr const char* kAnnotationSuper = "java.lang.annotation.Annotation";

// Every event starts with these: the reader takes the first field as the
// start tick, and the second as the duration when it is named "duration".
Element event(const std::string& name, TypeId id, const std::string& text, bool with_duration) {
  Element e = type(name, id, text, kEventSuper);
  e.add(field("startTime", kLong, "Start Time", kPlain, Unit::kTicksTimestamp));
  if (with_duration) e.add(field("duration", kLong, "Duration", kPlain, Unit::kTicksTimespan));
  return e;
}

Element metadata_tree() {
  Element metadata{"metadata", {}, {}};
  for (auto [name, id] : std::initializer_list<std::pair<const char*, TypeId>>{
           {"boolean", kBoolean}, {"char", kChar}, {"float", kFloat}, {"double", kDouble},
           {"byte", kByte}, {"short", kShort}, {"int", kInt}, {"long", kLong}, {"java.lang.String", kString}}) {
    metadata.add(type(name, id));
  }
  for (auto [name, id] : std::initializer_list<std::pair<const char*, TypeId>>{
           {"jdk.jfr.Label", kLabelAnnotation},
           {"jdk.jfr.Description", kDescriptionAnnotation},
           {"jdk.jfr.Timestamp", kTimestampAnnotation},
           {"jdk.jfr.Timespan", kTimespanAnnotation},
           {"jdk.jfr.DataAmount", kDataAmountAnnotation}}) {
    metadata.add(type(name, id, "", kAnnotationSuper).add(field("value", kString, "Value")));
  }

  // Constant-pool types. A native thread is shown as a Java thread of the
  // same name and id, which is what JMC groups and filters by.
  metadata.add(type("java.lang.Thread", kThread, "Thread")
                   .add(field("osName", kString, "OS Thread Name"))
                   .add(field("osThreadId", kLong, "OS Thread Id"))
                   .add(field("javaName", kString, "Java Thread Name"))
                   .add(field("javaThreadId", kLong, "Java Thread Id")));
  metadata.add(type("java.lang.Class", kClass, "Java Class")
                   .add(field("name", kSymbol, "Name", kConstantPool))
                   .add(field("package", kPackage, "Package", kConstantPool))
                   .add(field("modifiers", kInt, "Access Modifiers")));
  metadata.add(type("jdk.types.Package", kPackage, "Package").add(field("name", kSymbol, "Name", kConstantPool)));
  metadata.add(type("jdk.types.Symbol", kSymbol, "Symbol", nullptr, true).add(field("string", kString, "String")));
  metadata.add(type("jdk.types.Method", kMethod, "Java Method")
                   .add(field("type", kClass, "Type", kConstantPool))
                   .add(field("name", kSymbol, "Name", kConstantPool))
                   .add(field("descriptor", kSymbol, "Descriptor", kConstantPool))
                   .add(field("modifiers", kInt, "Access Modifiers"))
                   .add(field("hidden", kBoolean, "Hidden")));
  metadata.add(type("jdk.types.StackTrace", kStackTrace, "Stacktrace")
                   .add(field("truncated", kBoolean, "Truncated"))
                   .add(field("frames", kStackFrame, "Stack Frames", kArray)));
  metadata.add(type("jdk.types.StackFrame", kStackFrame)
                   .add(field("method", kMethod, "Java Method", kConstantPool))
                   .add(field("lineNumber", kInt, "Line Number"))
                   .add(field("bytecodeIndex", kInt, "Bytecode Index"))
                   .add(field("type", kFrameType, "Frame Type", kConstantPool)));
  metadata.add(type("jdk.types.FrameType", kFrameType, "Frame type", nullptr, true)
                   .add(field("description", kString, "Description")));
  metadata.add(type("jdk.types.ThreadState", kThreadState, "Java Thread State", nullptr, true)
                   .add(field("name", kString, "Name")));

  metadata.add(event("jdk.ExecutionSample", kExecutionSample, "Method Profiling Sample", false)
                   .add(field("sampledThread", kThread, "Thread", kConstantPool))
                   .add(field("stackTrace", kStackTrace, "Stack Trace", kConstantPool))
                   .add(field("state", kThreadState, "Thread State", kConstantPool))
                   .add(field("cpu", kInt, "CPU")));
  // The interval a thread spent off CPU. flare's own fields after the JDK's
  // say how it splits and who ended it.
  metadata.add(event("jdk.ThreadPark", kThreadPark, "Java Thread Park", true)
                   .add(field("eventThread", kThread, "Event Thread", kConstantPool))
                   .add(field("stackTrace", kStackTrace, "Stack Trace", kConstantPool))
                   .add(field("state", kString, "Off-CPU State"))
                   .add(field("blockedTime", kLong, "Blocked Until Woken", kPlain, Unit::kNanoseconds))
                   .add(field("runQueueTime", kLong, "Run-Queue Wait", kPlain, Unit::kNanoseconds))
                   .add(field("waker", kThread, "Woken By", kConstantPool))
                   .add(field("wakerStackTrace", kStackTrace, "Waker Stack Trace", kConstantPool))
                   .add(field("clippedAtStart", kBoolean, "Already Off CPU At Capture Start"))
                   .add(field("clippedAtEnd", kBoolean, "Still Off CPU At Capture End")));
  metadata.add(event("jdk.ObjectAllocationSample", kObjectAllocationSample, "Object Allocation Sample", false)
                   .add(field("eventThread", kThread, "Event Thread", kConstantPool))
                   .add(field("stackTrace", kStackTrace, "Stack Trace", kConstantPool))
                   .add(field("objectClass", kClass, "Object Class", kConstantPool))
                   .add(field("weight", kLong, "Sample Weight", kPlain, Unit::kBytes))
                   .add(field("allocationSize", kLong, "Bytes Requested", kPlain, Unit::kBytes))
                   .add(field("address", kLong, "Address"))
                   .add(field("untracked", kBoolean, "Free Not Tracked")));
  metadata.add(event("jdk.ThreadStart", kThreadStart, "Java Thread Start", false)
                   .add(field("eventThread", kThread, "Event Thread", kConstantPool))
                   .add(field("thread", kThread, "New Java Thread", kConstantPool)));
  metadata.add(event("jdk.ThreadEnd", kThreadEnd, "Java Thread End", false)
                   .add(field("eventThread", kThread, "Event Thread", kConstantPool))
                   .add(field("thread", kThread, "Java Thread", kConstantPool)));
  metadata.add(event("jdk.ActiveRecording", kActiveRecording, "Flight Recording", true)
                   .add(field("id", kLong, "Id"))
                   .add(field("name", kString, "Name"))
                   .add(field("destination", kString, "Destination"))
                   .add(field("recordingStart", kLong, "Start Time", kPlain, Unit::kMillisSinceEpoch))
                   .add(field("recordingDuration", kLong, "Recording Duration", kPlain, Unit::kMilliseconds)));
  metadata.add(event("jdk.ActiveSetting", kActiveSetting, "Recording Setting", false)
                   .add(field("id", kLong, "Event Id"))
                   .add(field("name", kString, "Setting Name"))
                   .add(field("value", kString, "Setting Value")));
  metadata.add(event("flare.LostEvents", kFlareLost, "Lost Events", false)
                   .add(field("cause", kString, "Cause"))
                   .add(field("cpu", kLong, "CPU (-1: all CPUs together)"))
                   .add(field("count", kLong, "Count")));
  metadata.add(event("flare.Statistic", kFlareStatistic, "Recorder Statistic", false)
                   .add(field("name", kString, "Name"))
                   .add(field("value", kLong, "Value")));

  Element root{"root", {}, {}};
  root.add(std::move(metadata));
  root.add(Element{"region", {{"locale", "en_US"}, {"gmtOffset", "0"}, {"dst", "0"}}, {}});
  return root;
}

class StringTable {
 public:
  uint64_t index(const std::string& s) {
    auto [it, inserted] = ids_.try_emplace(s, strings_.size());
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  void collect(const Element& e) {
    index(e.name);
    for (const auto& [k, v] : e.attributes) {
      index(k);
      index(v);
    }
    for (const Element& c : e.children) collect(c);
  }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string, uint64_t> ids_;
  std::vector<std::string> strings_;
};

void write_element(JfrBuffer& out, const Element& e, StringTable& table) {
  out.varint(table.index(e.name));
  out.varint(e.attributes.size());
  for (const auto& [k, v] : e.attributes) {
    out.varint(table.index(k));
    out.varint(table.index(v));
  }
  out.varint(e.children.size());
  for (const Element& c : e.children) write_element(out, c, table);
}

}  // namespace

void append_metadata(JfrBuffer& out, uint64_t start_ticks) {
  // The string table and tree are the same in every chunk: encoded once.
  static const std::string encoded_tree = [] {
    Element root = metadata_tree();
    StringTable table;
    table.collect(root);
    JfrBuffer tree;
    tree.varint(table.strings().size());
    for (const std::string& s : table.strings()) tree.string(s);
    write_element(tree, root, table);
    return tree.bytes();
  }();
  JfrBuffer body;
  body.varint(kMetadataRecord);
  body.varint(start_ticks);
  body.varint(0);  // duration
  body.varint(1);  // metadata id: one metadata per chunk
  body.raw(encoded_tree);
  append_sized(out, body.bytes());
}

}  // namespace flare::viewer::jfr

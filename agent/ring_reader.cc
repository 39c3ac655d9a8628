#include "agent/ring_reader.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "agent/bpf_error.h"

namespace flare::agent {
namespace {

uint64_t load_acquire(const void* p) {
  return std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(const_cast<void*>(p))).load(std::memory_order_acquire);
}

uint32_t load_acquire_u32(const void* p) {
  return std::atomic_ref<uint32_t>(*static_cast<uint32_t*>(const_cast<void*>(p))).load(std::memory_order_acquire);
}

void store_release(void* p, uint64_t value) {
  std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(p)).store(value, std::memory_order_release);
}

}  // namespace

Result<std::unique_ptr<RingReader>> RingReader::open(int map_fd, RecordHandler handler, void* ctx) {
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len) != 0) return bpf_error(errno, "reading the ring buffer's size");
  if (info.type != BPF_MAP_TYPE_RINGBUF) {
    return Status(ErrorCode::kInvalidArgument, "map " + std::to_string(map_fd) + " is not a BPF ring buffer");
  }
  std::unique_ptr<RingReader> reader(new RingReader());
  reader->handler_ = handler;
  reader->ctx_ = ctx;
  reader->page_bytes_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  reader->data_bytes_ = info.max_entries;

  void* consumer = mmap(nullptr, reader->page_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (consumer == MAP_FAILED) return Status::from_errno(errno, "mapping the ring buffer's consumer page");
  reader->consumer_page_ = consumer;
  // The producer page, then the data area once (libbpf maps it twice).
  void* producer = mmap(nullptr, reader->page_bytes_ + reader->data_bytes_, PROT_READ, MAP_SHARED, map_fd,
                        static_cast<off_t>(reader->page_bytes_));
  if (producer == MAP_FAILED) return Status::from_errno(errno, "mapping the ring buffer's data");
  reader->producer_area_ = producer;

  reader->epoll_fd_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!reader->epoll_fd_.valid()) return Status::from_errno(errno, "creating an epoll set for the ring buffer");
  epoll_event event{};
  event.events = EPOLLIN;
  if (epoll_ctl(reader->epoll_fd_.get(), EPOLL_CTL_ADD, map_fd, &event) != 0) {
    return Status::from_errno(errno, "watching the ring buffer");
  }
  return reader;
}

RingReader::~RingReader() {
  if (producer_area_) munmap(producer_area_, page_bytes_ + data_bytes_);
  if (consumer_page_) munmap(consumer_page_, page_bytes_);
}

int RingReader::poll(int timeout_ms) {
  epoll_event event{};
  int ready = epoll_wait(epoll_fd_.get(), &event, 1, timeout_ms);
  if (ready < 0) return -errno;
  return consume();
}

int RingReader::consume() {
  const uint64_t mask = data_bytes_ - 1;
  const uint8_t* data = static_cast<const uint8_t*>(producer_area_) + page_bytes_;
  uint64_t consumer = load_acquire(consumer_page_);
  int records = 0;
  while (true) {
    const uint64_t producer = load_acquire(producer_area_);
    if (consumer >= producer) break;
    while (consumer < producer) {
      const size_t offset = consumer & mask;
      // Headers are 8-byte aligned in a data area of whole pages: never split.
      const uint32_t header = load_acquire_u32(data + offset);
      if (header & BPF_RINGBUF_BUSY_BIT) {
        // Reserved, not yet committed: later records wait for it.
        store_release(consumer_page_, consumer);
        return records;
      }
      const uint32_t length = header & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      const uint64_t advance = (static_cast<uint64_t>(length) + BPF_RINGBUF_HDR_SZ + 7) & ~uint64_t{7};
      if (!(header & BPF_RINGBUF_DISCARD_BIT)) {
        const size_t start = (offset + BPF_RINGBUF_HDR_SZ) & mask;
        void* record;
        if (start + length <= data_bytes_) {
          record = const_cast<uint8_t*>(data + start);
        } else {
          const size_t first = data_bytes_ - start;
          wrapped_.resize(length);
          std::memcpy(wrapped_.data(), data + start, first);
          std::memcpy(wrapped_.data() + first, data, length - first);
          record = wrapped_.data();
        }
        ++records;
        const int stop = handler_(ctx_, record, length);
        if (stop) {
          store_release(consumer_page_, consumer + advance);
          return stop;
        }
      }
      consumer += advance;
      // Publish as we go: the space is free for the kernel at once.
      store_release(consumer_page_, consumer);
    }
  }
  return records;
}

}  // namespace flare::agent

package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.semantics.OrderKey;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import org.apache.datasketches.hash.MurmurHash3;

/**
 * A uniform sample of at most {@code capacity} rows that depends only on the set of rows: the rows
 * with the smallest 64-bit hashes of (value, order key), ties by value. The sample of a union is
 * the smallest entries of the parts' samples, so it is the same whatever the order of rows and the
 * grouping of states; while the rows number at most {@code capacity}, it holds them all. Each row
 * is kept with probability {@code capacity / n} over the hash, independently of its value.
 *
 * <p>Mutable; not thread-safe.
 */
final class RowSample {
  /** Fixed, so that every node and path hashes alike. */
  private static final long SEED = 0x51_7c_c1_b7_27_22_0a_95L;

  record Entry(long hash, Value value) {}

  private static final Comparator<Entry> ORDER =
      Comparator.comparingLong(Entry::hash).thenComparing(Entry::value, ValueOrder.ORDER);

  private final int capacity;
  // The largest kept entry on top, so that a smaller one replaces it.
  private final PriorityQueue<Entry> kept;

  RowSample(int capacity) {
    this.capacity = capacity;
    this.kept = new PriorityQueue<>(Math.min(capacity, 16), ORDER.reversed());
  }

  void add(Value value, OrderKey order) {
    long[] valueHash = MurmurHash3.hash(value.toByteArray(), SEED);
    long[] key = {
      valueHash[0],
      order.eventTimeMicros(),
      order.createdTimeMicros(),
      order.partition(),
      order.offset()
    };
    offer(new Entry(MurmurHash3.hash(key, SEED)[0], value));
  }

  private void offer(Entry e) {
    if (kept.size() < capacity) {
      kept.add(e);
    } else if (ORDER.compare(e, kept.peek()) < 0) {
      kept.poll();
      kept.add(e);
    }
  }

  void merge(RowSample other) {
    other.kept.forEach(this::offer);
  }

  int size() {
    return kept.size();
  }

  /** The sampled values, in no particular order. */
  List<Value> values() {
    List<Value> out = new ArrayList<>(kept.size());
    kept.forEach(e -> out.add(e.value()));
    return out;
  }

  void write(CodedOutputStream out) throws IOException {
    out.writeUInt32NoTag(kept.size());
    for (Entry e : kept) {
      out.writeFixed64NoTag(e.hash());
      Kernels.writeValue(out, e.value());
    }
  }

  static RowSample read(CodedInputStream in, int capacity) throws IOException {
    RowSample s = new RowSample(capacity);
    int n = in.readUInt32();
    if (n > capacity) {
      throw new IllegalStateException(
          "a sample of " + n + " rows cannot be read with capacity " + capacity);
    }
    for (int i = 0; i < n; i++) {
      s.kept.add(new Entry(in.readFixed64(), Kernels.readValue(in)));
    }
    return s;
  }
}

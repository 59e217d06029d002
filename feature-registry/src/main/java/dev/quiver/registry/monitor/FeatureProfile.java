package dev.quiver.registry.monitor;

import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.Micros;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Objects;
import org.apache.datasketches.common.ArrayOfStringsSerDe;
import org.apache.datasketches.frequencies.ItemsSketch;
import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.datasketches.memory.Memory;

/**
 * The distribution of one feature's values, in mergeable sketches: a count, a null count, and a KLL
 * quantile sketch (numbers; timestamps as epoch microseconds) or a frequent-items sketch (strings,
 * booleans, and anything else by its text). The training-set export profiles what it writes and
 * serving profiles what it serves with this same class, so a baseline and a live profile are
 * measured alike. Mutable; not thread-safe.
 */
public final class FeatureProfile {
  /** KLL's accuracy parameter: about 0.8% normalized rank error (DataSketches' tables). */
  static final int KLL_K = 400;

  /** The frequent-items sketch's map size: the items it tracks at most. */
  static final int ITEMS_MAP_SIZE = 1024;

  private static final ArrayOfStringsSerDe SERDE = new ArrayOfStringsSerDe();

  private final boolean numeric;
  // Lists (embeddings and the like) are counted, and their nulls, but not sketched.
  private final boolean scalar;
  private long count;
  private long nulls;
  private final KllDoublesSketch quantiles;
  private final ItemsSketch<String> items;

  private FeatureProfile(
      boolean numeric,
      boolean scalar,
      long count,
      long nulls,
      KllDoublesSketch q,
      ItemsSketch<String> i) {
    this.numeric = numeric;
    this.scalar = scalar;
    this.count = count;
    this.nulls = nulls;
    this.quantiles = q;
    this.items = i;
  }

  /** An empty profile for values of {@code type}. */
  public static FeatureProfile of(ValueType type) {
    boolean numeric = isNumeric(type);
    return new FeatureProfile(
        numeric,
        type.hasScalar(),
        0,
        0,
        numeric ? KllDoublesSketch.newHeapInstance(KLL_K) : null,
        numeric ? null : new ItemsSketch<>(ITEMS_MAP_SIZE));
  }

  /** An empty profile of numbers ({@code numeric}) or items, holding nothing. */
  static FeatureProfile empty(boolean numeric) {
    return new FeatureProfile(
        numeric,
        true,
        0,
        0,
        numeric ? KllDoublesSketch.newHeapInstance(KLL_K) : null,
        numeric ? null : new ItemsSketch<>(ITEMS_MAP_SIZE));
  }

  /** Whether values of {@code type} are profiled as numbers (quantiles) rather than as items. */
  public static boolean isNumeric(ValueType type) {
    return Types.isNumeric(type) || type.equals(Types.of(ScalarType.SCALAR_TYPE_TIMESTAMP));
  }

  /** Adds one value in its Java form (Long, Double, Instant, String, Boolean...), or null. */
  public void add(Object value) {
    count++;
    if (value == null) {
      nulls++;
      return;
    }
    if (!scalar) {
      return;
    }
    if (numeric) {
      double d = value instanceof Instant i ? Micros.of(i) : ((Number) value).doubleValue();
      if (Double.isNaN(d)) {
        // KLL takes no NaN; a NaN is no measurement, as a null is.
        nulls++;
        return;
      }
      quantiles.update(d);
    } else {
      items.update(
          value instanceof com.google.protobuf.ByteString b
              ? java.util.Base64.getEncoder().encodeToString(b.toByteArray())
              : String.valueOf(value));
    }
  }

  /**
   * Adds one value as served: a {@code Value} with no kind or an explicit null counts as a null, as
   * the training set holds null where serving finds nothing.
   */
  public void add(dev.quiver.proto.v1.Value value) {
    add(dev.quiver.proto.JavaValues.toJava(value));
  }

  /** Adds everything {@code other} holds: profiles merge. */
  public void merge(FeatureProfile other) {
    if (other.numeric != numeric) {
      throw new IllegalArgumentException("a numeric and an item profile do not merge");
    }
    count += other.count;
    nulls += other.nulls;
    if (numeric) {
      quantiles.merge(other.quantiles);
    } else {
      items.merge(other.items);
    }
  }

  public boolean numeric() {
    return numeric;
  }

  /** Values added, nulls included. */
  public long count() {
    return count;
  }

  public long nulls() {
    return nulls;
  }

  /** The share of nulls; 0 over no values. */
  public double nullRate() {
    return count == 0 ? 0 : (double) nulls / count;
  }

  KllDoublesSketch quantiles() {
    return quantiles;
  }

  ItemsSketch<String> items() {
    return items;
  }

  /** The storage form: kind, counts, then the sketch's own bytes. */
  public byte[] toBytes() {
    byte[] sketch = numeric ? quantiles.toByteArray() : items.toByteArray(SERDE);
    return ByteBuffer.allocate(1 + 16 + sketch.length)
        .put((byte) (numeric ? 1 : scalar ? 2 : 3))
        .putLong(count)
        .putLong(nulls)
        .put(sketch)
        .array();
  }

  public static FeatureProfile fromBytes(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int kind = b.get();
    long count = b.getLong();
    long nulls = b.getLong();
    Memory rest = Memory.wrap(bytes).region(17, bytes.length - 17);
    return switch (kind) {
      case 1 -> new FeatureProfile(true, true, count, nulls, KllDoublesSketch.heapify(rest), null);
      case 2, 3 ->
          new FeatureProfile(
              false, kind == 2, count, nulls, null, ItemsSketch.getInstance(rest, SERDE));
      default -> throw new IllegalArgumentException("not a feature profile (kind " + kind + ")");
    };
  }
}

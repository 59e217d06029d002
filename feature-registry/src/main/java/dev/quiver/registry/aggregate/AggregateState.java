package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.ExtensionRegistryLite;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.semantics.OrderKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The partial state of one aggregation over some rows: what a tile holds online, and what the
 * offline engine folds rows into. Every function keeps the fields it needs: a count of rows (or of
 * non-null inputs), an exact sum ({@link ExactSum}), an int64 sum, the extreme value, the last
 * value with its order key. States merge, so a window is the merge of its tiles. Mutable; not
 * thread-safe.
 *
 * <p>The storage form starts with a format byte ({@link #FORMAT}); a state of another format is
 * refused rather than misread.
 */
public final class AggregateState {
  long count;
  ExactSum sum;
  long longSum;
  Value extreme;
  OrderKey lastOrder;
  Value lastValue;

  /** Rows (or non-null inputs) folded in. */
  public long count() {
    return count;
  }

  /** The format of {@link #encode}'s bytes: 2 since sums became exact. */
  public static final int FORMAT = 3;

  private static final int HAS_SUM = 1;
  private static final int HAS_LONG_SUM = 2;
  private static final int HAS_EXTREME = 4;
  private static final int HAS_LAST = 8;

  /** ExactSum of the state, created when first needed. */
  ExactSum sum() {
    if (sum == null) {
      sum = new ExactSum();
    }
    return sum;
  }

  /** The storage form: the format byte, a count, flags, then the fields the flags announce. */
  public byte[] encode() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(32);
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      int flags =
          (sum != null && !sum.isZero() ? HAS_SUM : 0)
              | (longSum != 0 ? HAS_LONG_SUM : 0)
              | (extreme != null ? HAS_EXTREME : 0)
              | (lastOrder != null ? HAS_LAST : 0);
      out.writeRawByte(FORMAT);
      out.writeUInt64NoTag(count);
      out.writeRawByte(flags);
      if ((flags & HAS_SUM) != 0) {
        sum.writeTo(out);
      }
      if ((flags & HAS_LONG_SUM) != 0) {
        out.writeSInt64NoTag(longSum);
      }
      if ((flags & HAS_EXTREME) != 0) {
        out.writeMessageNoTag(extreme);
      }
      if ((flags & HAS_LAST) != 0) {
        out.writeFixed64NoTag(lastOrder.eventTimeMicros());
        out.writeFixed64NoTag(lastOrder.createdTimeMicros());
        out.writeInt32NoTag(lastOrder.partition());
        out.writeInt64NoTag(lastOrder.offset());
        out.writeMessageNoTag(lastValue);
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static AggregateState decode(byte[] stored) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(stored);
      int format = stored.length == 0 ? -1 : in.readRawByte();
      if (format != FORMAT) {
        throw new IllegalStateException(
            "an aggregation state in format " + format + ", not " + FORMAT + ", cannot be read");
      }
      AggregateState s = new AggregateState();
      s.count = in.readUInt64();
      int flags = in.readRawByte();
      if ((flags & HAS_SUM) != 0) {
        s.sum = ExactSum.readFrom(in);
      }
      if ((flags & HAS_LONG_SUM) != 0) {
        s.longSum = in.readSInt64();
      }
      ExtensionRegistryLite none = ExtensionRegistryLite.getEmptyRegistry();
      if ((flags & HAS_EXTREME) != 0) {
        s.extreme = in.readMessage(Value.parser(), none);
      }
      if ((flags & HAS_LAST) != 0) {
        s.lastOrder =
            new OrderKey(in.readFixed64(), in.readFixed64(), in.readInt32(), in.readInt64());
        s.lastValue = in.readMessage(Value.parser(), none);
      }
      return s;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

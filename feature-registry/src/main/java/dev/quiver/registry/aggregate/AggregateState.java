package dev.quiver.registry.aggregate;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.AggregationFunction;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * The partial state of one aggregation over some rows: what a tile holds online, and what the
 * offline engine folds rows into. It holds the count of rows (or of non-null inputs) folded in and
 * the function's own state ({@link AggregateKernel}). States merge, so a window is the merge of its
 * tiles. Mutable; not thread-safe.
 *
 * <p>The storage form is the format byte ({@link #FORMAT}), the function's number, the count, then
 * the function's state. A state of another format is refused rather than misread; a state of
 * another function is refused when an {@link Aggregator} first reads it. A decoded state keeps its
 * function's bytes until an aggregator needs them, since only the aggregator knows the parameters
 * they were written with.
 */
public final class AggregateState {
  /** The format of {@link #encode}'s bytes: 3 since every function keeps its own state. */
  public static final int FORMAT = 3;

  private final AggregationFunction function;
  private long count;
  private AggregateKernel<Object> kernel;
  private Object value;
  private byte[] pending;

  AggregateState(AggregationFunction function, AggregateKernel<Object> kernel) {
    this.function = Objects.requireNonNull(function, "function");
    this.kernel = kernel;
    this.value = kernel.empty();
  }

  private AggregateState(AggregationFunction function, long count, byte[] pending) {
    this.function = function;
    this.count = count;
    this.pending = pending;
  }

  /** Rows (or non-null inputs) folded in. */
  public long count() {
    return count;
  }

  /** The function whose state this is. */
  public AggregationFunction function() {
    return function;
  }

  /** The function's state, read with {@code k} if it is still in its stored form. */
  Object value(AggregationFunction expected, AggregateKernel<Object> k) {
    if (expected != function) {
      throw new IllegalStateException(
          "a state of "
              + function
              + " cannot be read as "
              + expected
              + ": the tile belongs to another aggregation");
    }
    if (pending != null) {
      try {
        CodedInputStream in = CodedInputStream.newInstance(pending);
        value = k.read(in);
        if (!in.isAtEnd()) {
          throw new IllegalStateException(
              "a state of "
                  + function
                  + " has "
                  + (pending.length - in.getTotalBytesRead())
                  + " bytes past its end");
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      pending = null;
      kernel = k;
    }
    return value;
  }

  void update(Object newValue, long addedRows) {
    value = newValue;
    count += addedRows;
  }

  /** The storage form; see the class comment. */
  public byte[] encode() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(32);
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.writeRawByte(FORMAT);
      out.writeUInt32NoTag(function.getNumber());
      out.writeUInt64NoTag(count);
      if (pending != null) {
        out.writeRawBytes(pending);
      } else {
        kernel.write(value, out);
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads a stored state.
   *
   * @throws IllegalStateException if it is of another format, or names no known function
   */
  public static AggregateState decode(byte[] stored) {
    int format = stored.length == 0 ? -1 : stored[0];
    if (format != FORMAT) {
      throw new IllegalStateException(
          "an aggregation state in format " + format + ", not " + FORMAT + ", cannot be read");
    }
    try {
      CodedInputStream in = CodedInputStream.newInstance(stored, 1, stored.length - 1);
      int number = in.readUInt32();
      AggregationFunction function = AggregationFunction.forNumber(number);
      if (function == null || function == AggregationFunction.AGGREGATION_FUNCTION_UNSPECIFIED) {
        throw new IllegalStateException(
            "an aggregation state of function number " + number + " cannot be read");
      }
      long count = in.readUInt64();
      byte[] rest = Arrays.copyOfRange(stored, 1 + in.getTotalBytesRead(), stored.length);
      return new AggregateState(function, count, rest);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

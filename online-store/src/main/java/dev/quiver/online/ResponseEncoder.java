package dev.quiver.online;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import dev.quiver.proto.v1.FeatureColumn;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.Micros;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the wire form of a {@link GetOnlineFeaturesResponse} without building its messages: the
 * serialized values kept in the online store are copied into the response as they are, so a lookup
 * neither parses nor re-encodes them. The bytes are exactly those the generated message would
 * serialize to (fields in number order, statuses packed), so any protobuf client reads them.
 *
 * <p>Not thread-safe: one encoder per response.
 */
final class ResponseEncoder {
  /** A {@code Value} with no kind set: the value of a feature that has none (not found, aged). */
  static final byte[] UNSET_VALUE = new byte[0];

  /** A {@code Value} holding an explicit null. */
  static final byte[] NULL_VALUE = Values.nullValue().toByteArray();

  /** The default {@code Timestamp}: no event time. */
  static final byte[] NO_TIMESTAMP = new byte[0];

  private static final int LEN = WireFormat.WIRETYPE_LENGTH_DELIMITED;

  private final int rows;
  private final List<Column> columns = new ArrayList<>();

  /**
   * @param rows the number of entity rows; every column holds one value per row
   */
  ResponseEncoder(int rows) {
    this.rows = rows;
  }

  /** Adds the next feature column; its rows must all be {@link Column#set set} before encoding. */
  Column column(String name) {
    Column c = new Column(name);
    columns.add(c);
    return c;
  }

  /** The serialized {@code google.protobuf.Timestamp} of an epoch-microsecond time. */
  static byte[] timestamp(long micros) {
    long seconds = Micros.epochSecond(micros);
    int nanos = Micros.nanoOfSecond(micros);
    int size =
        (seconds != 0 ? CodedOutputStream.computeInt64Size(1, seconds) : 0)
            + (nanos != 0 ? CodedOutputStream.computeInt32Size(2, nanos) : 0);
    byte[] out = new byte[size];
    CodedOutputStream o = CodedOutputStream.newInstance(out);
    try {
      if (seconds != 0) {
        o.writeInt64(1, seconds);
      }
      if (nanos != 0) {
        o.writeInt32(2, nanos);
      }
      o.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** The response's bytes. */
  byte[] encode(long registryVersion) {
    int total = 0;
    for (Column c : columns) {
      c.size = c.size();
      total += 1 + CodedOutputStream.computeUInt32SizeNoTag(c.size) + c.size;
    }
    if (rows != 0) {
      total += CodedOutputStream.computeInt32Size(2, rows);
    }
    if (registryVersion != 0) {
      total += CodedOutputStream.computeInt64Size(3, registryVersion);
    }
    byte[] out = new byte[total];
    CodedOutputStream o = CodedOutputStream.newInstance(out);
    try {
      for (Column c : columns) {
        o.writeTag(1, LEN);
        o.writeUInt32NoTag(c.size);
        c.writeTo(o);
      }
      if (rows != 0) {
        o.writeInt32(2, rows);
      }
      if (registryVersion != 0) {
        o.writeInt64(3, registryVersion);
      }
      o.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** One {@link FeatureColumn}: a name, then a value, a status and an event time per row. */
  final class Column {
    private final byte[] name;
    private final byte[][] values = new byte[rows][];
    private final int[] offsets = new int[rows];
    private final int[] lengths = new int[rows];
    private final int[] statuses = new int[rows];
    private final byte[][] times = new byte[rows][];
    private int size;
    private int packedStatuses;

    private Column(String name) {
      this.name = name.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Sets a row to the serialized {@code Value} in {@code bytes[offset, offset + length)}, with a
     * status and a serialized event time (see {@link #timestamp}). The arrays are referenced, not
     * copied, until {@link #encode}.
     */
    void set(int row, byte[] bytes, int offset, int length, FeatureStatus status, byte[] time) {
      values[row] = bytes;
      offsets[row] = offset;
      lengths[row] = length;
      statuses[row] = status.getNumber();
      times[row] = time;
    }

    void set(int row, byte[] value, FeatureStatus status, byte[] time) {
      set(row, value, 0, value.length, status, time);
    }

    /** The status set for {@code row}. */
    FeatureStatus status(int row) {
      return FeatureStatus.forNumber(statuses[row]);
    }

    /** The {@code Value} set for {@code row}, parsed. */
    Value value(int row) {
      try {
        return Value.parseFrom(
            com.google.protobuf.CodedInputStream.newInstance(
                values[row], offsets[row], lengths[row]));
      } catch (IOException e) {
        throw new UncheckedIOException("a stored value does not parse", e);
      }
    }

    private int packedStatusSize() {
      int n = 0;
      for (int s : statuses) {
        n += CodedOutputStream.computeEnumSizeNoTag(s);
      }
      return n;
    }

    /** The column's encoded size; also keeps the statuses' packed length for {@link #writeTo}. */
    private int size() {
      int n = name.length == 0 ? 0 : 1 + CodedOutputStream.computeUInt32SizeNoTag(name.length);
      n += name.length;
      for (int r = 0; r < rows; r++) {
        n += 1 + CodedOutputStream.computeUInt32SizeNoTag(lengths[r]) + lengths[r];
        n += 1 + CodedOutputStream.computeUInt32SizeNoTag(times[r].length) + times[r].length;
      }
      if (rows > 0) {
        packedStatuses = packedStatusSize();
        n += 1 + CodedOutputStream.computeUInt32SizeNoTag(packedStatuses) + packedStatuses;
      }
      return n;
    }

    private void writeTo(CodedOutputStream o) throws IOException {
      if (name.length > 0) {
        o.writeTag(1, LEN);
        o.writeUInt32NoTag(name.length);
        o.writeRawBytes(name);
      }
      for (int r = 0; r < rows; r++) {
        o.writeTag(2, LEN);
        o.writeUInt32NoTag(lengths[r]);
        o.writeRawBytes(values[r], offsets[r], lengths[r]);
      }
      if (rows > 0) {
        o.writeTag(3, LEN);
        o.writeUInt32NoTag(packedStatuses);
        for (int s : statuses) {
          o.writeEnumNoTag(s);
        }
      }
      for (int r = 0; r < rows; r++) {
        o.writeTag(4, LEN);
        o.writeUInt32NoTag(times[r].length);
        o.writeRawBytes(times[r]);
      }
    }
  }
}

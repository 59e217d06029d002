package dev.quiver.online;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.OrderKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The stored form of a view row: a format byte, the order key, then (feature id, value) pairs. Ids
 * are assigned per view version by the store and never reused, so a feature added to a view later
 * is simply absent from older rows. Immutable.
 */
public final class StoredRow {
  private static final int FORMAT = 1;

  private final OrderKey order;
  private final int[] ids;
  private final Value[] values;

  StoredRow(OrderKey order, int[] ids, Value[] values) {
    this.order = order;
    this.ids = ids;
    this.values = values;
  }

  public OrderKey order() {
    return order;
  }

  /** The value of feature {@code id}, or null when the row has none (written before it existed). */
  public Value value(int id) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == id) {
        return values[i];
      }
    }
    return null;
  }

  static byte[] encode(OrderKey order, int[] ids, Value[] values) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + values.length * 16);
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.writeRawByte(FORMAT);
      out.writeFixed64NoTag(order.eventTimeMillis());
      out.writeFixed64NoTag(order.createdTimeMillis());
      out.writeInt32NoTag(order.partition());
      out.writeInt64NoTag(order.offset());
      out.writeUInt32NoTag(ids.length);
      for (int i = 0; i < ids.length; i++) {
        out.writeUInt32NoTag(ids[i]);
        out.writeMessageNoTag(values[i]);
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static OrderKey decodeOrder(byte[] stored) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(stored);
      checkFormat(in);
      return new OrderKey(in.readFixed64(), in.readFixed64(), in.readInt32(), in.readInt64());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static StoredRow decode(byte[] stored) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(stored);
      checkFormat(in);
      OrderKey order =
          new OrderKey(in.readFixed64(), in.readFixed64(), in.readInt32(), in.readInt64());
      int n = in.readUInt32();
      int[] ids = new int[n];
      Value[] values = new Value[n];
      for (int i = 0; i < n; i++) {
        ids[i] = in.readUInt32();
        values[i] =
            in.readMessage(
                Value.parser(), com.google.protobuf.ExtensionRegistryLite.getEmptyRegistry());
      }
      return new StoredRow(order, ids, values);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void checkFormat(CodedInputStream in) throws IOException {
    int format = in.readRawByte();
    if (format != FORMAT) {
      throw new IOException("unknown stored row format " + format);
    }
  }
}

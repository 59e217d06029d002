package dev.quiver.offline.pit;

import com.google.protobuf.ByteString;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes single values (null, Boolean, Integer, Long, Float, Double, String, ByteString,
 * Instant, List) to spill files, and orders entity keys (lists of String, Long or ByteString).
 */
final class Cells {
  private Cells() {}

  static void write(DataOutputStream out, Object v) throws IOException {
    if (v == null) {
      out.writeByte(0);
    } else if (v instanceof Boolean b) {
      out.writeByte(1);
      out.writeBoolean(b);
    } else if (v instanceof Integer i) {
      out.writeByte(2);
      out.writeInt(i);
    } else if (v instanceof Long l) {
      out.writeByte(3);
      out.writeLong(l);
    } else if (v instanceof Float f) {
      out.writeByte(4);
      out.writeFloat(f);
    } else if (v instanceof Double d) {
      out.writeByte(5);
      out.writeDouble(d);
    } else if (v instanceof String s) {
      // Not writeUTF: it is slow and limited to 64 KiB.
      byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
      out.writeByte(6);
      out.writeInt(utf8.length);
      out.write(utf8);
    } else if (v instanceof ByteString b) {
      out.writeByte(7);
      out.writeInt(b.size());
      b.writeTo(out);
    } else if (v instanceof Instant t) {
      out.writeByte(8);
      out.writeLong(t.getEpochSecond());
      out.writeInt(t.getNano());
    } else if (v instanceof List<?> list) {
      out.writeByte(9);
      out.writeInt(list.size());
      for (Object e : list) {
        write(out, e);
      }
    } else {
      throw new IllegalArgumentException("cannot spill " + v.getClass().getName());
    }
  }

  static Object read(DataInputStream in) throws IOException {
    int tag = in.readByte();
    return switch (tag) {
      case 0 -> null;
      case 1 -> in.readBoolean();
      case 2 -> in.readInt();
      case 3 -> in.readLong();
      case 4 -> in.readFloat();
      case 5 -> in.readDouble();
      case 6 -> {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        yield new String(b, StandardCharsets.UTF_8);
      }
      case 7 -> {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        yield ByteString.copyFrom(b);
      }
      case 8 -> Instant.ofEpochSecond(in.readLong(), in.readInt());
      case 9 -> {
        int n = in.readInt();
        List<Object> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          out.add(read(in));
        }
        yield List.copyOf(out);
      }
      default -> throw new IOException("corrupt spill file: tag " + tag);
    };
  }

  /** Orders entity keys element by element: numbers, then strings, then bytes. */
  static int compareKeys(List<Object> a, List<Object> b) {
    if (a.size() == 1 && b.size() == 1) {
      Object x = a.get(0);
      Object y = b.get(0);
      if (x instanceof String s && y instanceof String t) {
        return s.compareTo(t);
      }
      if (x instanceof Long l && y instanceof Long m) {
        return Long.compare(l, m);
      }
    }
    for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
      int c = compare(a.get(i), b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(a.size(), b.size());
  }

  private static int compare(Object a, Object b) {
    int ra = rank(a);
    int rb = rank(b);
    if (ra != rb) {
      return Integer.compare(ra, rb);
    }
    if (a instanceof Long x) {
      return Long.compare(x, (Long) b);
    }
    if (a instanceof String x) {
      return x.compareTo((String) b);
    }
    return ByteString.unsignedLexicographicalComparator().compare((ByteString) a, (ByteString) b);
  }

  private static int rank(Object o) {
    return o instanceof Long ? 0 : o instanceof String ? 1 : 2;
  }
}

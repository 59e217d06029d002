package dev.quiver.offline.export;

import com.google.protobuf.ByteString;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.semantics.Micros;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.util.Text;

/**
 * An entity table in an Arrow IPC file (what pandas, Polars and pyarrow write as Feather v2, and
 * what the Arrow Flight export receives). Columns are checked against the request when the file is
 * opened, so a wrong type is reported before any work starts.
 */
public final class ArrowEntityTable {
  private ArrowEntityTable() {}

  /**
   * Checks an entity table's Arrow schema: the timestamp column is a timestamp, a date, epoch
   * milliseconds or RFC 3339 text; join key columns fit their declared types; other columns are of
   * a type an export can pass through.
   *
   * @return the types of the pass-through columns
   * @throws IllegalArgumentException naming the column at fault
   */
  public static Map<String, ValueType> check(
      Schema schema, String timestampColumn, Map<String, ScalarType> keyTypes) {
    Map<String, ValueType> passThrough = new LinkedHashMap<>();
    boolean hasTimestamp = false;
    for (Field f : schema.getFields()) {
      String name = f.getName();
      ArrowType t = f.getType();
      if (name.equals(timestampColumn)) {
        hasTimestamp = true;
        if (!(t instanceof ArrowType.Timestamp
            || t instanceof ArrowType.Date
            || t instanceof ArrowType.Int
            || isText(t))) {
          throw new IllegalArgumentException(
              "entity table column '"
                  + name
                  + "' is "
                  + t
                  + "; the timestamp column must be a timestamp, a date, epoch milliseconds"
                  + " (int64) or RFC 3339 text");
        }
      } else if (keyTypes.containsKey(name)) {
        ScalarType want = keyTypes.get(name);
        boolean fits =
            switch (want) {
              case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64 -> t instanceof ArrowType.Int;
              case SCALAR_TYPE_BYTES -> isBinary(t);
              default -> isText(t);
            };
        if (!fits) {
          throw new IllegalArgumentException(
              "entity table column '"
                  + name
                  + "' is "
                  + t
                  + " but the join key "
                  + name
                  + " is "
                  + Types.format(Types.of(want)));
        }
      } else {
        passThrough.put(name, Types.of(scalar(name, t)));
      }
    }
    if (!hasTimestamp) {
      throw new IllegalArgumentException(
          "the entity table has no timestamp column '"
              + timestampColumn
              + "'; columns: "
              + schema.getFields().stream().map(Field::getName).toList());
    }
    for (String key : keyTypes.keySet()) {
      if (schema.getFields().stream().noneMatch(f -> f.getName().equals(key))) {
        throw new IllegalArgumentException("the entity table has no join key column '" + key + "'");
      }
    }
    return passThrough;
  }

  static EntityTables.Opened open(Path file, String ts, Map<String, ScalarType> keyTypes)
      throws IOException {
    Schema schema;
    try (BufferAllocator allocator = new RootAllocator();
        SeekableByteChannel ch = Files.newByteChannel(file);
        ArrowFileReader reader = new ArrowFileReader(ch, allocator)) {
      schema = reader.getVectorSchemaRoot().getSchema();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          file
              + ": not an Arrow IPC file, or a damaged one ("
              + dev.quiver.registry.util.Messages.clip(String.valueOf(e.getMessage()))
              + ")",
          e);
    }
    Map<String, ValueType> passThrough;
    try {
      passThrough = check(schema, ts, keyTypes);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    List<String> columns = schema.getFields().stream().map(Field::getName).toList();
    PointInTimeEngine.Table table =
        new PointInTimeEngine.Table() {
          @Override
          public List<String> columns() {
            return columns;
          }

          @Override
          public CloseableIterator<Object[]> rows() throws IOException {
            return new Rows(file, columns, ts, keyTypes);
          }
        };
    return new EntityTables.Opened(table, passThrough);
  }

  private static boolean isText(ArrowType t) {
    return t instanceof ArrowType.Utf8 || t instanceof ArrowType.LargeUtf8;
  }

  private static boolean isBinary(ArrowType t) {
    return t instanceof ArrowType.Binary || t instanceof ArrowType.LargeBinary;
  }

  private static ScalarType scalar(String column, ArrowType t) {
    if (t instanceof ArrowType.Bool) {
      return ScalarType.SCALAR_TYPE_BOOL;
    }
    if (t instanceof ArrowType.Int i) {
      return i.getBitWidth() <= 32 && (i.getIsSigned() || i.getBitWidth() < 32)
          ? ScalarType.SCALAR_TYPE_INT32
          : ScalarType.SCALAR_TYPE_INT64;
    }
    if (t instanceof ArrowType.FloatingPoint f && f.getPrecision() != FloatingPointPrecision.HALF) {
      return f.getPrecision() == FloatingPointPrecision.SINGLE
          ? ScalarType.SCALAR_TYPE_FLOAT
          : ScalarType.SCALAR_TYPE_DOUBLE;
    }
    if (isText(t)) {
      return ScalarType.SCALAR_TYPE_STRING;
    }
    if (isBinary(t)) {
      return ScalarType.SCALAR_TYPE_BYTES;
    }
    if (t instanceof ArrowType.Timestamp || t instanceof ArrowType.Date) {
      return ScalarType.SCALAR_TYPE_TIMESTAMP;
    }
    throw new IllegalArgumentException(
        "entity table column '"
            + column
            + "' is "
            + t
            + ", which an export cannot pass through; expected bool, integers, float, double,"
            + " string, binary, timestamp or date");
  }

  /** The rows of an Arrow IPC file, batch by batch. */
  private static final class Rows implements CloseableIterator<Object[]> {
    private final BufferAllocator allocator = new RootAllocator();
    private final SeekableByteChannel channel;
    private final ArrowFileReader reader;
    private final List<String> columns;
    private final int tsIndex;
    private final boolean[] isKey;
    private final Path file;
    private VectorSchemaRoot root;
    private int row;

    /** Rows of earlier batches. */
    private long before;

    Rows(Path file, List<String> columns, String ts, Map<String, ScalarType> keyTypes)
        throws IOException {
      this.file = file;
      this.channel = Files.newByteChannel(file);
      this.reader = new ArrowFileReader(channel, allocator);
      this.columns = columns;
      this.tsIndex = columns.indexOf(ts);
      this.isKey = new boolean[columns.size()];
      for (int i = 0; i < isKey.length; i++) {
        isKey[i] = keyTypes.containsKey(columns.get(i));
      }
      this.root = reader.getVectorSchemaRoot();
      this.row = 0;
      root.setRowCount(0);
    }

    @Override
    public boolean hasNext() {
      try {
        while (row >= root.getRowCount()) {
          before += root.getRowCount();
          if (!reader.loadNextBatch()) {
            return false;
          }
          row = 0;
        }
        return true;
      } catch (IOException | RuntimeException e) {
        throw new IllegalArgumentException(
            file
                + ": row "
                + (before + 1)
                + ": cannot be read; a damaged Arrow IPC file ("
                + dev.quiver.registry.util.Messages.clip(String.valueOf(e.getMessage()))
                + ")",
            e);
      }
    }

    @Override
    public Object[] next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Object[] out = new Object[columns.size()];
      for (int i = 0; i < out.length; i++) {
        FieldVector v = root.getVector(i);
        if (v.isNull(row)) {
          continue;
        }
        try {
          out[i] = value(v, i);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              file
                  + ": row "
                  + (before + row + 1)
                  + ", column "
                  + dev.quiver.registry.util.Messages.quote(columns.get(i))
                  + ": "
                  + e.getMessage(),
              e);
        }
      }
      row++;
      return out;
    }

    private Object value(FieldVector v, int i) {
      if (i == tsIndex) {
        return micros(v, row);
      }
      if (isKey[i]) {
        Object value = v.getObject(row);
        return value instanceof Number n
            ? (Object) n.longValue()
            : value instanceof byte[] b ? ByteString.copyFrom(b) : value.toString();
      }
      return passThrough(v, row);
    }

    private static long micros(FieldVector v, int row) {
      if (v instanceof TimeStampVector t) {
        long raw = t.get(row);
        TimeUnit unit = ((ArrowType.Timestamp) t.getField().getType()).getUnit();
        return switch (unit) {
          case SECOND -> EntityTimes.ofUnits(raw, 1_000_000L);
          case MILLISECOND -> EntityTimes.ofMillis(raw);
          case MICROSECOND -> EntityTimes.ofMicros(raw);
          case NANOSECOND -> EntityTimes.ofMicros(Math.floorDiv(raw, 1_000L));
        };
      }
      if (v instanceof DateDayVector d) {
        return EntityTimes.ofUnits(d.get(row), 86_400_000_000L);
      }
      if (v instanceof BaseIntVector i) {
        return EntityTimes.ofMillis(i.getValueAsLong(row));
      }
      if (v.getField().getType() instanceof ArrowType.Date) {
        return EntityTimes.ofMillis(((Number) v.getObject(row)).longValue()); // DateMilli
      }
      return EntityTimes.ofText(v.getObject(row).toString());
    }

    private static Object passThrough(FieldVector v, int row) {
      if (v instanceof TimeStampVector || v.getField().getType() instanceof ArrowType.Date) {
        return Micros.toInstant(micros(v, row));
      }
      if (v instanceof BitVector b) {
        return b.get(row) == 1;
      }
      if (v instanceof IntVector i) {
        return i.get(row);
      }
      if (v instanceof BaseIntVector i) {
        return v.getField().getType() instanceof ArrowType.Int t && t.getBitWidth() < 32
            ? (Object) (int) i.getValueAsLong(row)
            : (Object) i.getValueAsLong(row);
      }
      if (v instanceof Float4Vector f) {
        return f.get(row);
      }
      if (v instanceof Float8Vector f) {
        return f.get(row);
      }
      if (v instanceof VarBinaryVector b) {
        return ByteString.copyFrom(b.get(row));
      }
      Object value = v.getObject(row);
      if (value instanceof Text t) {
        return t.toString();
      }
      if (value instanceof byte[] bytes) {
        return ByteString.copyFrom(bytes);
      }
      return value instanceof Instant ? value : value.toString();
    }

    @Override
    public void close() throws IOException {
      try {
        reader.close();
        channel.close();
      } finally {
        allocator.close();
      }
    }
  }
}

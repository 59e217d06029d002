package dev.quiver.offline.export;

import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.util.Messages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Entity tables for training-set export: CSV with a header, Parquet with flat columns, or an Arrow
 * IPC file. Join key columns are read as their declared types (integers as Long); the timestamp
 * column as epoch microseconds (a timestamp of any unit, epoch milliseconds, or RFC 3339 text);
 * other columns pass through unchanged (CSV values as text).
 */
public final class EntityTables {
  private EntityTables() {}

  /**
   * A table and the types of its pass-through columns (those other than the timestamp and the join
   * keys), which an export writes unchanged.
   */
  public record Opened(PointInTimeEngine.Table table, Map<String, ValueType> passThroughTypes) {}

  /**
   * Opens an entity table by its extension, reading only what describes it (a CSV header, a Parquet
   * footer, an Arrow schema): rows are read and checked as the export goes.
   *
   * @throws IllegalArgumentException naming the file and saying what is wrong: missing, not a file,
   *     unreadable, not of its format, or columns an export cannot read
   */
  public static Opened open(Path file, String timestampColumn, Map<String, ScalarType> keyTypes)
      throws IOException {
    ExportFiles.checkReadable(file, "entity table");
    String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    try {
      if (name.endsWith(".parquet")) {
        return parquet(file, timestampColumn, keyTypes);
      }
      if (name.endsWith(".csv")) {
        return CsvEntityTable.open(file, timestampColumn, keyTypes);
      }
      if (name.endsWith(".arrow") || name.endsWith(".feather") || name.endsWith(".ipc")) {
        return ArrowEntityTable.open(file, timestampColumn, keyTypes);
      }
    } catch (IOException e) {
      if (e instanceof Utf8Reader.BadText) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      throw new IllegalArgumentException(
          file + ": cannot read the entity table: " + ExportFiles.reason(e), e);
    }
    throw new IllegalArgumentException(
        file + ": unknown entity table format; expected a .csv, .parquet or .arrow file");
  }

  /**
   * A join key's value from its text: integers for integer keys, base64 for bytes keys; null for
   * empty text.
   *
   * @throws IllegalArgumentException saying what is wrong with the value (the caller says where)
   */
  static Object key(String text, ScalarType type) {
    if (text.isEmpty()) {
      return null;
    }
    return switch (type) {
      case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64 -> {
        try {
          yield Long.parseLong(text);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(
              "join key " + Messages.quote(text) + " is not an integer");
        }
      }
      case SCALAR_TYPE_BYTES -> {
        try {
          yield com.google.protobuf.ByteString.copyFrom(java.util.Base64.getDecoder().decode(text));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "join key " + Messages.quote(text) + " is not base64, as bytes keys are written");
        }
      }
      default -> text;
    };
  }

  /** Epoch microseconds of RFC 3339 text or of epoch milliseconds, checked against the range. */
  static long micros(String text, String where) {
    try {
      return EntityTimes.ofText(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
  }

  private static final byte[] PARQUET_MAGIC = {'P', 'A', 'R', '1'};

  /** Whether the file starts and ends with Parquet's magic bytes (and has room for a footer). */
  private static boolean looksLikeParquet(Path file) throws IOException {
    try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(file)) {
      long size = ch.size();
      if (size < 12) {
        return false;
      }
      java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(4);
      java.nio.ByteBuffer tail = java.nio.ByteBuffer.allocate(4);
      while (head.hasRemaining() && ch.read(head) >= 0) {}
      ch.position(size - 4);
      while (tail.hasRemaining() && ch.read(tail) >= 0) {}
      return java.util.Arrays.equals(head.array(), PARQUET_MAGIC)
          && java.util.Arrays.equals(tail.array(), PARQUET_MAGIC);
    }
  }

  private static Opened parquet(Path file, String ts, Map<String, ScalarType> keyTypes)
      throws IOException {
    if (!looksLikeParquet(file)) {
      throw new IllegalArgumentException(
          file + ": not a Parquet file (it does not start and end with the bytes PAR1)");
    }
    MessageType schema;
    try (ParquetFileReader r = ParquetFileReader.open(new LocalInputFile(file))) {
      schema = r.getFooter().getFileMetaData().getSchema();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          file + ": a damaged Parquet file; its footer cannot be read (" + describe(e) + ")", e);
    }
    List<String> columns = new ArrayList<>();
    Map<String, ValueType> types = new LinkedHashMap<>();
    for (Type t : schema.getFields()) {
      columns.add(t.getName());
      ValueType type = parquetType(file, t);
      if (t.getName().equals(ts)) {
        checkParquetTimestamp(file, t, type);
      } else if (keyTypes.containsKey(t.getName())) {
        checkParquetKey(file, t, type, keyTypes.get(t.getName()));
      } else {
        types.put(t.getName(), type);
      }
    }
    PointInTimeEngine.Table table =
        new PointInTimeEngine.Table() {
          @Override
          public List<String> columns() {
            return columns;
          }

          @Override
          public CloseableIterator<Object[]> rows() throws IOException {
            ParquetReader<Object[]> reader = dev.quiver.offline.ParquetFiles.reader(file, null);
            int tsIndex = columns.indexOf(ts);
            boolean[] isKey = new boolean[columns.size()];
            for (int i = 0; i < isKey.length; i++) {
              isKey[i] = keyTypes.containsKey(columns.get(i));
            }
            return new CloseableIterator<>() {
              long row = 0;
              Object[] next = read();

              private Object[] read() {
                try {
                  return reader.read();
                } catch (IOException | RuntimeException e) {
                  throw new IllegalArgumentException(
                      file
                          + ": row "
                          + (row + 1)
                          + ": cannot be read; a damaged Parquet file ("
                          + describe(e)
                          + ")",
                      e);
                }
              }

              @Override
              public boolean hasNext() {
                return next != null;
              }

              @Override
              public Object[] next() {
                Object[] values = next;
                if (values == null) {
                  throw new java.util.NoSuchElementException();
                }
                row++;
                if (tsIndex >= 0 && values[tsIndex] != null) {
                  Object v = values[tsIndex];
                  try {
                    values[tsIndex] =
                        v instanceof Instant instant
                            ? (Object) EntityTimes.ofInstant(instant)
                            : v instanceof String text
                                ? (Object) EntityTimes.ofText(text)
                                : (Object) EntityTimes.ofMillis(((Number) v).longValue());
                  } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                        file
                            + ": row "
                            + row
                            + ", column "
                            + Messages.quote(ts)
                            + ": "
                            + e.getMessage(),
                        e);
                  }
                }
                for (int i = 0; i < values.length; i++) {
                  if (isKey[i] && values[i] instanceof Integer n) {
                    values[i] = n.longValue();
                  }
                }
                next = read();
                return values;
              }

              @Override
              public void close() throws IOException {
                reader.close();
              }
            };
          }
        };
    return new Opened(table, types);
  }

  /** An exception's message without Parquet's object identities, cut to a line. */
  private static String describe(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    m = m.replaceAll("[A-Za-z0-9_.]+@[0-9a-f]{4,}", "the file");
    return Messages.clip(m.lines().findFirst().orElse(m));
  }

  private static void checkParquetTimestamp(Path file, Type t, ValueType type) {
    ScalarType s = type.getScalar();
    if (s != ScalarType.SCALAR_TYPE_TIMESTAMP
        && s != ScalarType.SCALAR_TYPE_INT64
        && s != ScalarType.SCALAR_TYPE_STRING) {
      throw new IllegalArgumentException(
          file
              + ": column "
              + Messages.quote(t.getName())
              + " is "
              + Types.format(type)
              + "; the timestamp column must be a timestamp, epoch milliseconds (int64) or RFC 3339"
              + " text");
    }
  }

  private static void checkParquetKey(Path file, Type t, ValueType type, ScalarType want) {
    ScalarType s = type.getScalar();
    boolean fits =
        switch (want) {
          case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64 ->
              s == ScalarType.SCALAR_TYPE_INT32 || s == ScalarType.SCALAR_TYPE_INT64;
          case SCALAR_TYPE_BYTES -> s == ScalarType.SCALAR_TYPE_BYTES;
          default -> s == ScalarType.SCALAR_TYPE_STRING;
        };
    if (!fits) {
      throw new IllegalArgumentException(
          file
              + ": column "
              + Messages.quote(t.getName())
              + " is "
              + Types.format(type)
              + " but the join key "
              + t.getName()
              + " is "
              + Types.format(Types.of(want)));
    }
  }

  private static ValueType parquetType(Path file, Type t) {
    String column = t.getName();
    if (!t.isPrimitive()) {
      throw new IllegalArgumentException(
          file
              + ": column "
              + Messages.quote(column)
              + " is nested; only flat columns pass through an export");
    }
    PrimitiveType p = t.asPrimitiveType();
    LogicalTypeAnnotation logical = p.getLogicalTypeAnnotation();
    return Types.of(
        switch (p.getPrimitiveTypeName()) {
          case BOOLEAN -> ScalarType.SCALAR_TYPE_BOOL;
          case INT32 -> ScalarType.SCALAR_TYPE_INT32;
          case INT64 ->
              logical instanceof LogicalTypeAnnotation.TimestampLogicalTypeAnnotation
                  ? ScalarType.SCALAR_TYPE_TIMESTAMP
                  : ScalarType.SCALAR_TYPE_INT64;
          case FLOAT -> ScalarType.SCALAR_TYPE_FLOAT;
          case DOUBLE -> ScalarType.SCALAR_TYPE_DOUBLE;
          case BINARY ->
              logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation
                  ? ScalarType.SCALAR_TYPE_STRING
                  : ScalarType.SCALAR_TYPE_BYTES;
          default ->
              throw new IllegalArgumentException(
                  file
                      + ": column "
                      + Messages.quote(column)
                      + " has unsupported type "
                      + p.getPrimitiveTypeName().name().toLowerCase(java.util.Locale.ROOT));
        });
  }
}

package dev.quiver.offline.export;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import dev.quiver.offline.Micros;
import dev.quiver.offline.pit.PointInTimeEngine;
import dev.quiver.offline.pit.PointInTimeEngine.CloseableIterator;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
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

  public static Opened open(Path file, String timestampColumn, Map<String, ScalarType> keyTypes)
      throws IOException {
    String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    if (name.endsWith(".parquet")) {
      return parquet(file, timestampColumn, keyTypes);
    }
    if (name.endsWith(".csv")) {
      PointInTimeEngine.Table table = csv(file, timestampColumn, keyTypes);
      Map<String, ValueType> types = new LinkedHashMap<>();
      for (String c : table.columns()) {
        if (!c.equals(timestampColumn) && !keyTypes.containsKey(c)) {
          types.put(c, Types.of(ScalarType.SCALAR_TYPE_STRING));
        }
      }
      return new Opened(table, types);
    }
    if (name.endsWith(".arrow") || name.endsWith(".feather") || name.endsWith(".ipc")) {
      return ArrowEntityTable.open(file, timestampColumn, keyTypes);
    }
    throw new IllegalArgumentException(
        file + ": unknown entity table format; expected a .csv, .parquet or .arrow file");
  }

  private static PointInTimeEngine.Table csv(Path file, String ts, Map<String, ScalarType> keyTypes)
      throws IOException {
    CsvMapper mapper = new CsvMapper().enable(CsvParser.Feature.WRAP_AS_ARRAY);
    List<String> columns;
    try (Reader r = Files.newBufferedReader(file);
        MappingIterator<String[]> it = mapper.readerFor(String[].class).readValues(r)) {
      if (!it.hasNext()) {
        throw new IllegalArgumentException(
            file + ": the entity table is empty; expected a header row");
      }
      columns = List.of(it.next());
    }
    int tsIndex = columns.indexOf(ts);
    return new PointInTimeEngine.Table() {
      @Override
      public List<String> columns() {
        return columns;
      }

      @Override
      public CloseableIterator<Object[]> rows() throws IOException {
        Reader r = Files.newBufferedReader(file);
        MappingIterator<String[]> it =
            mapper.readerFor(String[].class).with(CsvSchema.emptySchema()).readValues(r);
        it.next(); // header
        return new CloseableIterator<>() {
          long line = 1;

          @Override
          public boolean hasNext() {
            return it.hasNext();
          }

          @Override
          public Object[] next() {
            String[] cells = it.next();
            line++;
            if (cells.length != columns.size()) {
              throw new IllegalArgumentException(
                  file
                      + ":"
                      + line
                      + ": "
                      + cells.length
                      + " values for "
                      + columns.size()
                      + " columns");
            }
            Object[] row = new Object[cells.length];
            for (int i = 0; i < cells.length; i++) {
              String c = cells[i];
              if (i == tsIndex) {
                row[i] = c.isEmpty() ? null : micros(c, file + ":" + line);
              } else if (keyTypes.containsKey(columns.get(i))) {
                row[i] = key(c, keyTypes.get(columns.get(i)), file + ":" + line);
              } else {
                row[i] = c;
              }
            }
            return row;
          }

          @Override
          public void close() throws IOException {
            it.close();
            r.close();
          }
        };
      }
    };
  }

  static Object key(String text, ScalarType type, String where) {
    if (text.isEmpty()) {
      return null;
    }
    return switch (type) {
      case SCALAR_TYPE_INT32, SCALAR_TYPE_INT64 -> {
        try {
          yield Long.parseLong(text);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(where + ": join key '" + text + "' is not an integer");
        }
      }
      case SCALAR_TYPE_BYTES ->
          com.google.protobuf.ByteString.copyFrom(java.util.Base64.getDecoder().decode(text));
      default -> text;
    };
  }

  /** Epoch microseconds of RFC 3339 text or of epoch milliseconds. */
  static long micros(String text, String where) {
    try {
      if (text.matches("-?[0-9]+")) {
        return Math.multiplyExact(Long.parseLong(text), 1000L);
      }
      return Micros.of(OffsetDateTime.parse(text).toInstant());
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          where + ": timestamp '" + text + "' is neither RFC 3339 nor epoch milliseconds");
    }
  }

  private static Opened parquet(Path file, String ts, Map<String, ScalarType> keyTypes)
      throws IOException {
    MessageType schema;
    try (ParquetFileReader r = ParquetFileReader.open(new LocalInputFile(file))) {
      schema = r.getFooter().getFileMetaData().getSchema();
    }
    List<String> columns = new ArrayList<>();
    Map<String, ValueType> types = new LinkedHashMap<>();
    for (Type t : schema.getFields()) {
      columns.add(t.getName());
      if (!t.getName().equals(ts) && !keyTypes.containsKey(t.getName())) {
        types.put(t.getName(), parquetType(t));
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
              long line = 1;
              Object[] next = read();

              private Object[] read() {
                try {
                  return reader.read();
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              }

              @Override
              public boolean hasNext() {
                return next != null;
              }

              @Override
              public Object[] next() {
                Object[] row = next;
                if (row == null) {
                  throw new java.util.NoSuchElementException();
                }
                if (tsIndex >= 0 && row[tsIndex] != null) {
                  Object v = row[tsIndex];
                  row[tsIndex] =
                      v instanceof Instant instant
                          ? (Object) Micros.of(instant)
                          : v instanceof String text
                              ? (Object) micros(text, file + " row " + line)
                              : (Object) Math.multiplyExact(((Number) v).longValue(), 1000L);
                }
                for (int i = 0; i < row.length; i++) {
                  if (isKey[i] && row[i] instanceof Integer n) {
                    row[i] = n.longValue();
                  }
                }
                line++;
                next = read();
                return row;
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

  private static ValueType parquetType(Type t) {
    String column = t.getName();
    if (!t.isPrimitive()) {
      throw new IllegalArgumentException(
          "entity table column '"
              + column
              + "' is nested; only flat columns pass through an export");
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
                  "entity table column '" + column + "' has unsupported type " + p);
        });
  }
}

package dev.quiver.server.backfill;

import com.google.protobuf.ByteString;
import dev.quiver.ingestion.BadRecordException;
import dev.quiver.ingestion.DecodedRecord;
import dev.quiver.ingestion.JsonRecordDecoder;
import dev.quiver.ingestion.RecordDecoder;
import dev.quiver.ingestion.SourceRecords;
import dev.quiver.offline.ParquetFiles;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.ScalarType;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.Types;
import dev.quiver.registry.formats.SchemaTypes;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.parquet.hadoop.ParquetReader;

/**
 * A file of a source's historical events, read record by record: JSON lines ({@code .jsonl}, {@code
 * .json}, {@code .ndjson}; each line a record as the source's JSON decoder reads it, empty lines
 * skipped), Parquet ({@code .parquet}; a column per declared field, by name, of a type that holds
 * the field's values exactly) or an Avro container file ({@code .avro}; a record field per declared
 * field, by name, mapped as an Avro source's are). Every record passes the same checks as a record
 * from Kafka ({@link SourceRecords}). Each has an index, its position in the file (the line number,
 * or the row number from 1), which is how a backfill resumes.
 */
public final class HistoryFile implements AutoCloseable {
  /** One record of the file: its index and either its fields or why it cannot be read. */
  public record Entry(long index, DecodedRecord record, String problem) {}

  private final Path file;
  private final SourceRecords checks;
  private final Source source;
  private final InputStream lines;
  private final ParquetReader<Object[]> rows;
  private final org.apache.avro.file.DataFileReader<org.apache.avro.generic.GenericRecord> avro;
  private final org.apache.avro.Schema.Field[] avroFields;
  private final long size;
  private long index;
  private long empty;

  private HistoryFile(Path file, Source source, Set<String> joinKeys) throws IOException {
    this.file = file;
    this.source = source;
    this.size = Files.size(file);
    this.checks = new SourceRecords(source, joinKeys, new JsonRecordDecoder(source));
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    this.avroFields = new org.apache.avro.Schema.Field[source.getSchemaCount()];
    if (name.endsWith(".parquet")) {
      List<String> columns = source.getSchemaList().stream().map(Field::getName).toList();
      this.rows = ParquetFiles.reader(file, columns);
      this.lines = null;
      this.avro = null;
    } else if (name.endsWith(".avro")) {
      this.avro =
          new org.apache.avro.file.DataFileReader<>(
              file.toFile(), new org.apache.avro.generic.GenericDatumReader<>());
      this.rows = null;
      this.lines = null;
      org.apache.avro.Schema schema = avro.getSchema();
      for (int i = 0; i < source.getSchemaCount(); i++) {
        Field f = source.getSchema(i);
        org.apache.avro.Schema.Field af =
            schema.getType() == org.apache.avro.Schema.Type.RECORD
                ? schema.getField(f.getName())
                : null;
        if (af != null) {
          String problem = SchemaTypes.avroProblem(f.getType(), af.schema());
          if (problem != null) {
            avro.close();
            throw new IOException(file + ": field '" + f.getName() + "': " + problem);
          }
        }
        avroFields[i] = af;
      }
    } else if (name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".ndjson")) {
      this.lines = new CountingInput(Files.newInputStream(file));
      this.rows = null;
      this.avro = null;
    } else {
      throw new IOException(
          file + ": unknown kind of file; expected .jsonl (.json, .ndjson), .parquet or .avro");
    }
  }

  /**
   * Opens {@code file} as records of {@code source}.
   *
   * @param joinKeys the join keys of the source's views: present and non-null in every record
   */
  public static HistoryFile open(Path file, Source source, Set<String> joinKeys)
      throws IOException {
    return new HistoryFile(file, source, joinKeys);
  }

  /** The next record, or null at the end of the file. */
  public Entry next() throws IOException {
    return lines != null ? nextLine() : avro != null ? nextAvro() : nextRow();
  }

  private Entry nextAvro() throws IOException {
    if (!avro.hasNext()) {
      return null;
    }
    org.apache.avro.generic.GenericRecord record;
    index++;
    try {
      record = avro.next();
    } catch (org.apache.avro.AvroRuntimeException e) {
      throw new IOException(file + ": record " + index + " cannot be read: " + e.getMessage(), e);
    }
    Map<String, Object> values = new HashMap<>();
    Set<String> nulls = new HashSet<>();
    for (int i = 0; i < source.getSchemaCount(); i++) {
      Field f = source.getSchema(i);
      Object datum = avroFields[i] == null ? null : record.get(avroFields[i].pos());
      if (datum == null) {
        nulls.add(f.getName());
        continue;
      }
      try {
        values.put(
            f.getName(),
            SchemaTypes.fromAvro(f.getType(), avroFields[i].schema(), datum, f.getName()));
      } catch (dev.quiver.registry.formats.ValueException e) {
        return new Entry(index, null, "record " + index + ": " + e.getMessage());
      }
    }
    return checked("record", values, nulls);
  }

  /** The current record's fields after the checks every source record passes. */
  private Entry checked(String what, Map<String, Object> values, Set<String> nulls) {
    try {
      return new Entry(index, checks.check(new RecordDecoder.Fields(values, nulls)), null);
    } catch (BadRecordException e) {
      return new Entry(index, null, what + " " + index + ": " + e.getMessage());
    }
  }

  /** Bytes of the file read so far (Parquet: all of it once opened), for progress. */
  public long bytesRead() {
    return lines != null ? ((CountingInput) lines).count : size;
  }

  /** The file's size in bytes. */
  public long size() {
    return size;
  }

  /** Empty lines skipped so far. */
  public long emptyLines() {
    return empty;
  }

  private Entry nextLine() throws IOException {
    while (true) {
      ByteArrayOutputStream line = new ByteArrayOutputStream(256);
      int b;
      while ((b = lines.read()) != -1 && b != '\n') {
        line.write(b);
      }
      if (b == -1 && line.size() == 0) {
        return null;
      }
      index++;
      byte[] bytes = line.toByteArray();
      int n = bytes.length;
      if (n > 0 && bytes[n - 1] == '\r') {
        n--;
      }
      if (isBlank(bytes, n)) {
        empty++;
        continue;
      }
      byte[] value = n == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, n);
      try {
        return new Entry(index, checks.read(value), null);
      } catch (BadRecordException e) {
        return new Entry(index, null, "line " + index + ": " + e.getMessage());
      }
    }
  }

  private static boolean isBlank(byte[] bytes, int n) {
    for (int i = 0; i < n; i++) {
      if (bytes[i] != ' ' && bytes[i] != '\t') {
        return false;
      }
    }
    return true;
  }

  private Entry nextRow() throws IOException {
    Object[] row = rows.read();
    if (row == null) {
      return null;
    }
    index++;
    Map<String, Object> values = new HashMap<>();
    Set<String> nulls = new HashSet<>();
    for (int i = 0; i < source.getSchemaCount(); i++) {
      Field f = source.getSchema(i);
      if (row[i] == null) {
        nulls.add(f.getName());
        continue;
      }
      Object v = conform(row[i], f.getType());
      if (v == null) {
        return new Entry(
            index,
            null,
            "row "
                + index
                + ": column '"
                + f.getName()
                + "' holds "
                + describe(row[i])
                + ", which is not a "
                + Types.format(f.getType()));
      }
      values.put(f.getName(), v);
    }
    return checked("row", values, nulls);
  }

  /**
   * A Parquet value in the Java form of {@code type}, or null when it does not hold one exactly.
   */
  private static Object conform(Object v, ValueType type) {
    if (type.hasListOf()) {
      if (!(v instanceof List<?> list)) {
        return null;
      }
      List<Object> out = new ArrayList<>(list.size());
      ValueType element = ValueType.newBuilder().setScalar(type.getListOf()).build();
      for (Object e : list) {
        Object c = e == null ? null : conform(e, element);
        if (c == null) {
          return null;
        }
        out.add(c);
      }
      return List.copyOf(out);
    }
    ScalarType t = type.getScalar();
    return switch (t) {
      case SCALAR_TYPE_BOOL -> v instanceof Boolean ? v : null;
      case SCALAR_TYPE_INT32 ->
          v instanceof Integer
              ? v
              : v instanceof Long l && l == (int) (long) l ? (Object) (int) (long) l : null;
      case SCALAR_TYPE_INT64 ->
          v instanceof Long ? v : v instanceof Integer i ? (Object) (long) i : null;
      case SCALAR_TYPE_FLOAT -> v instanceof Float ? v : null;
      case SCALAR_TYPE_DOUBLE ->
          v instanceof Double ? v : v instanceof Float f ? (Object) (double) f : null;
      case SCALAR_TYPE_STRING -> v instanceof String ? v : null;
      case SCALAR_TYPE_BYTES -> v instanceof ByteString ? v : null;
      case SCALAR_TYPE_TIMESTAMP -> v instanceof Instant ? v : null;
      default -> null;
    };
  }

  private static String describe(Object v) {
    String kind =
        v instanceof Integer
            ? "int32"
            : v instanceof Long
                ? "int64"
                : v instanceof Double
                    ? "double"
                    : v instanceof Float
                        ? "float"
                        : v instanceof Instant ? "timestamp" : v.getClass().getSimpleName();
    return kind + " " + v;
  }

  @Override
  public void close() throws IOException {
    if (lines != null) {
      lines.close();
    }
    if (rows != null) {
      rows.close();
    }
    if (avro != null) {
      avro.close();
    }
  }

  @Override
  public String toString() {
    return file.toString();
  }

  /** Counts the bytes read, for progress. */
  private static final class CountingInput extends BufferedInputStream {
    long count;

    CountingInput(InputStream in) {
      super(in, 1 << 16);
    }

    @Override
    public synchronized int read() throws IOException {
      int b = super.read();
      if (b != -1) {
        count++;
      }
      return b;
    }
  }
}

package dev.quiver.offline.export;

import com.fasterxml.jackson.databind.SequenceWriter;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import com.google.protobuf.ByteString;
import dev.quiver.offline.ParquetFiles;
import dev.quiver.offline.ParquetSchemas;
import dev.quiver.proto.v1.ValueType;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * Writes a training set as Parquet, CSV or an Arrow IPC file, chosen by the file's extension. The
 * file is written under a temporary name and renamed when complete, so a failed export leaves no
 * partial file.
 */
public abstract class ExportWriter implements AutoCloseable {

  /** A column and its type. */
  public record Column(String name, ValueType type) {
    /**
     * The column of a join key: int32 keys are written as int64, the one form every path holds join
     * keys in (Long).
     */
    public static Column ofKey(dev.quiver.proto.v1.Field key) {
      return new Column(key.getName(), keyType(key.getType().getScalar()));
    }

    /** The exported type of a join key of type {@code t}. */
    public static ValueType keyType(dev.quiver.proto.v1.ScalarType t) {
      return dev.quiver.registry.Types.of(
          t == dev.quiver.proto.v1.ScalarType.SCALAR_TYPE_INT32
              ? dev.quiver.proto.v1.ScalarType.SCALAR_TYPE_INT64
              : t);
    }
  }

  final Path target;
  final Path temp;

  ExportWriter(Path target) {
    this.target = target;
    this.temp = tempOf(target);
  }

  /**
   * Checks that {@code out} names an output format by its extension and is not a directory.
   *
   * @throws IllegalArgumentException naming the file and the formats there are
   */
  public static void checkOutput(Path out) {
    String name = out.getFileName() == null ? "" : out.getFileName().toString();
    String lower = name.toLowerCase(Locale.ROOT);
    if (!(lower.endsWith(".parquet")
        || lower.endsWith(".csv")
        || lower.endsWith(".arrow")
        || lower.endsWith(".feather"))) {
      throw new IllegalArgumentException(
          out + ": unknown output format; expected .parquet, .csv or .arrow (Arrow IPC)");
    }
    if (Files.isDirectory(out)) {
      throw new IllegalArgumentException(out + ": is a directory; the output must be a file");
    }
  }

  /**
   * Opens a writer for {@code out} (.parquet, .csv or .arrow): its directory is created if missing
   * and the temporary file is created at once, so an unwritable place fails before any work.
   *
   * @throws IllegalArgumentException for an unknown format or a directory
   * @throws IOException naming the file and saying why it cannot be written
   */
  public static ExportWriter open(Path out, List<Column> columns) throws IOException {
    checkOutput(out);
    String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
    Path dir = out.toAbsolutePath().getParent();
    try {
      if (dir != null && !Files.isDirectory(dir)) {
        Files.createDirectories(dir);
      }
    } catch (IOException e) {
      throw ExportFiles.writeFailure(out, e);
    }
    Path temp = tempOf(out);
    try {
      if (name.endsWith(".parquet")) {
        return new ParquetExport(out, columns);
      }
      if (name.endsWith(".csv")) {
        return new CsvExport(out, columns);
      }
      return new ArrowExport(out, columns);
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw ExportFiles.writeFailure(out, e);
    } catch (RuntimeException | Error e) {
      Files.deleteIfExists(temp);
      throw e;
    }
  }

  private static Path tempOf(Path target) {
    return target.resolveSibling("." + target.getFileName() + ".tmp");
  }

  /**
   * Writes one row: values in the Java form of each column's type.
   *
   * @throws IOException naming the output file and the reason
   */
  public final void row(Object[] values) throws IOException {
    try {
      write(values);
    } catch (IOException e) {
      throw ExportFiles.writeFailure(target, e);
    }
  }

  abstract void write(Object[] values) throws IOException;

  /** Finishes the file and moves it into place. */
  public void commit() throws IOException {
    try {
      finish();
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw ExportFiles.writeFailure(target, e);
    }
  }

  abstract void finish() throws IOException;

  /** Discards an unfinished file. */
  @Override
  public void close() throws IOException {
    if (Files.exists(temp)) {
      try {
        finish();
      } catch (IOException | RuntimeException e) {
        // discarded below
      }
      Files.deleteIfExists(temp);
    }
  }

  private static final class ParquetExport extends ExportWriter {
    private final ParquetWriter<Object[]> writer;
    private boolean finished;

    ParquetExport(Path out, List<Column> columns) throws IOException {
      super(out);
      Types.MessageTypeBuilder m = Types.buildMessage();
      for (Column c : columns) {
        m.addField(ParquetSchemas.column(c.name(), c.type(), Type.Repetition.OPTIONAL));
      }
      MessageType schema = m.named("training_set");
      Files.deleteIfExists(temp);
      this.writer =
          ParquetFiles.rowWriter(
              temp, schema, columns.stream().map(Column::type).toList(), java.util.Map.of());
    }

    @Override
    void write(Object[] values) throws IOException {
      writer.write(values);
    }

    @Override
    void finish() throws IOException {
      if (!finished) {
        finished = true;
        writer.close();
      }
    }
  }

  private static final class CsvExport extends ExportWriter {
    private final Writer out;
    private final SequenceWriter csv;
    private boolean finished;

    CsvExport(Path target, List<Column> columns) throws IOException {
      super(target);
      Files.deleteIfExists(temp);
      this.out =
          Files.newBufferedWriter(
              temp,
              java.nio.charset.StandardCharsets.UTF_8,
              java.nio.file.StandardOpenOption.CREATE_NEW,
              java.nio.file.StandardOpenOption.WRITE);
      CsvSchema.Builder schema = CsvSchema.builder().setUseHeader(true);
      columns.forEach(c -> schema.addColumn(c.name()));
      this.csv =
          new CsvMapper()
              .enable(
                  com.fasterxml.jackson.dataformat.csv.CsvGenerator.Feature
                      .STRICT_CHECK_FOR_QUOTING)
              .writerFor(String[].class)
              .with(schema.build())
              .writeValues(out);
    }

    @Override
    void write(Object[] values) throws IOException {
      String[] cells = new String[values.length];
      for (int i = 0; i < values.length; i++) {
        cells[i] = text(values[i]);
      }
      csv.write(cells);
    }

    private static String text(Object v) {
      if (v == null) {
        return "";
      }
      if (v instanceof ByteString b) {
        return Base64.getEncoder().encodeToString(b.toByteArray());
      }
      if (v instanceof List<?> l) {
        return l.stream().map(CsvExport::text).collect(Collectors.joining(",", "[", "]"));
      }
      if (v instanceof Instant i) {
        return i.toString();
      }
      return v.toString();
    }

    @Override
    void finish() throws IOException {
      if (!finished) {
        finished = true;
        csv.close();
        out.close();
      }
    }
  }
}

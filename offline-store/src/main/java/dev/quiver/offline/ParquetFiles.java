package dev.quiver.offline;

import dev.quiver.proto.v1.ValueType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.MessageType;

/**
 * How the offline store opens local Parquet files: one place for the writer and reader settings.
 */
public final class ParquetFiles {
  private ParquetFiles() {}

  /** A Snappy-compressed writer of {@code schema} to {@code file}, with footer metadata. */
  public static ParquetWriter<Group> writer(
      Path file, MessageType schema, Map<String, String> metadata) throws IOException {
    ExampleParquetWriter.Builder b =
        ExampleParquetWriter.builder(new LocalOutputFile(file))
            .withType(schema)
            .withConf(new Configuration(false))
            .withCompressionCodec(CompressionCodecName.SNAPPY)
            .withExtraMetaData(metadata);
    return withoutNumberDictionaries(b, schema).build();
  }

  /**
   * Turns dictionaries off for the top-level columns that hold numbers or times. Dictionaries pay
   * off for text (countries, channels); numbers, times and offsets are mostly distinct, and trying
   * a dictionary first costs more than it saves.
   */
  private static <B extends ParquetWriter.Builder<?, B>> B withoutNumberDictionaries(
      B builder, MessageType schema) {
    B b = builder;
    for (org.apache.parquet.schema.Type f : schema.getFields()) {
      if (f.isPrimitive()) {
        switch (f.asPrimitiveType().getPrimitiveTypeName()) {
          case BINARY, FIXED_LEN_BYTE_ARRAY -> {}
          default -> b = b.withDictionaryEncoding(f.getName(), false);
        }
      }
    }
    return b;
  }

  /**
   * A Snappy-compressed writer of rows as value arrays, one value per column of {@code schema}
   * (whose top-level columns have the registry types {@code types}).
   */
  public static ParquetWriter<Object[]> rowWriter(
      Path file, MessageType schema, List<ValueType> types, Map<String, String> metadata)
      throws IOException {
    RowWriterBuilder b =
        new RowWriterBuilder(
                new LocalOutputFile(file), new RowWriteSupport(schema, types, metadata))
            .withConf(new Configuration(false))
            .withCompressionCodec(CompressionCodecName.SNAPPY);
    return withoutNumberDictionaries(b, schema).build();
  }

  private static final class RowWriterBuilder
      extends ParquetWriter.Builder<Object[], RowWriterBuilder> {
    private final WriteSupport<Object[]> support;

    RowWriterBuilder(org.apache.parquet.io.OutputFile file, WriteSupport<Object[]> support) {
      super(file);
      this.support = support;
    }

    @Override
    protected RowWriterBuilder self() {
      return this;
    }

    @Override
    protected WriteSupport<Object[]> getWriteSupport(Configuration conf) {
      return support;
    }
  }

  /**
   * A reader of {@code file}'s records as value arrays of the {@code columns} asked for (all, in
   * file order, when null); see {@link RowReadSupport}.
   */
  public static ParquetReader<Object[]> reader(Path file, List<String> columns) throws IOException {
    RowReadSupport support = new RowReadSupport(columns);
    return new ParquetReader.Builder<Object[]>(new LocalInputFile(file)) {
      @Override
      protected ReadSupport<Object[]> getReadSupport() {
        return support;
      }
    }.withConf(new Configuration(false)).build();
  }

  /**
   * The greatest {@code event_ts} of an offline file's rows, epoch microseconds, from its footer's
   * column statistics (the column itself is read only when a writer left none); {@link
   * dev.quiver.registry.semantics.Watermark#NONE} for a file without rows.
   */
  public static long maxEventTime(Path file) throws IOException {
    long max = dev.quiver.registry.semantics.Watermark.NONE;
    try (org.apache.parquet.hadoop.ParquetFileReader footer =
        org.apache.parquet.hadoop.ParquetFileReader.open(new LocalInputFile(file))) {
      for (org.apache.parquet.hadoop.metadata.BlockMetaData block :
          footer.getFooter().getBlocks()) {
        if (block.getRowCount() == 0) {
          continue;
        }
        org.apache.parquet.column.statistics.Statistics<?> stats = null;
        for (org.apache.parquet.hadoop.metadata.ColumnChunkMetaData c : block.getColumns()) {
          if (c.getPath().toDotString().equals(ParquetSchemas.EVENT_TS)) {
            stats = c.getStatistics();
          }
        }
        if (stats == null || !stats.hasNonNullValue()) {
          return Math.max(max, readMaxEventTime(file));
        }
        max = Math.max(max, ((Number) stats.genericGetMax()).longValue());
      }
    }
    return max;
  }

  private static long readMaxEventTime(Path file) throws IOException {
    long max = dev.quiver.registry.semantics.Watermark.NONE;
    try (ParquetReader<Object[]> r = reader(file, List.of(ParquetSchemas.EVENT_TS))) {
      for (Object[] row = r.read(); row != null; row = r.read()) {
        if (row[0] instanceof java.time.Instant t) {
          max = Math.max(max, dev.quiver.registry.semantics.Micros.of(t));
        }
      }
    }
    return max;
  }
}

package dev.quiver.offline;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.example.GroupReadSupport;
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
    return ExampleParquetWriter.builder(new LocalOutputFile(file))
        .withType(schema)
        .withConf(new Configuration(false))
        .withCompressionCodec(CompressionCodecName.SNAPPY)
        .withExtraMetaData(metadata)
        .build();
  }

  /** A reader of {@code file}'s records. */
  public static ParquetReader<Group> reader(Path file) throws IOException {
    return new ParquetReader.Builder<Group>(new LocalInputFile(file)) {
      @Override
      protected ReadSupport<Group> getReadSupport() {
        return new GroupReadSupport();
      }
    }.withConf(new Configuration(false)).build();
  }
}

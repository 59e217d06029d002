package dev.quiver.server.cli;

import dev.quiver.ingestion.BadRecordException;
import dev.quiver.ingestion.JsonRecordDecoder;
import dev.quiver.ingestion.RecordEncoder;
import dev.quiver.ingestion.WireFormat;
import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.util.StrictUtf8;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "produce",
    mixinStandardHelpOptions = true,
    description = {
      "Send JSON lines to a source's topic, in the source's format.",
      "One record per line, keyed by the entity key so that each entity's events keep their",
      "order. The whole file is read and checked first: a line",
      "that is not UTF-8 stops it with its line number before anything is sent. Empty lines are",
      "not records; they are skipped and counted.",
      "For an avro or protobuf source each line is read as the source's JSON records are and",
      "written in its format (after the schema-registry header when its wire_format is",
      "schema_registry); a line that cannot be stops the file with its line number and the",
      "reason, before anything is sent."
    })
final class ProduceCommand implements Callable<Integer> {
  @Mixin RepoOptions options;
  @Spec CommandSpec spec;

  @Option(names = "--source", required = true, paramLabel = "NAME", description = "The source.")
  String sourceName;

  @Option(
      names = "--file",
      required = true,
      paramLabel = "FILE",
      description = "JSON lines; - for standard input.")
  String file;

  @Option(names = "--bootstrap", paramLabel = "SERVERS", description = "Kafka bootstrap servers.")
  String bootstrap;

  @Option(
      names = "--key",
      paramLabel = "FIELD",
      description =
          "Field whose value keys each record; '' for no key. Default: the join key of the"
              + " source's views, when they all have the same one.")
  String keyField;

  @Option(
      names = "--schema-id",
      paramLabel = "N",
      description =
          "For a source with wire_format schema_registry: the writer schema to write with, by"
              + " its id in writer_schemas. Default: the highest id.")
  Integer schemaId;

  @Override
  public Integer call() throws Exception {
    FeatureRepo repo;
    try {
      repo = options.load(spec.commandLine().getErr());
    } catch (RepoOptions.ValidationFailed e) {
      return QuiverCommand.FAILED;
    }
    RegistrySnapshot d = repo.definition();
    Optional<Source> source =
        d.getSourcesList().stream().filter(s -> s.getName().equals(sourceName)).findFirst();
    if (source.isEmpty()) {
      spec.commandLine()
          .getErr()
          .println("error: no source '" + sourceName + "' in " + options.repo);
      return QuiverCommand.FAILED;
    }
    java.io.PrintWriter err = spec.commandLine().getErr();
    String key;
    if (keyField != null) {
      key = keyField.isEmpty() ? null : keyField;
    } else {
      Map<String, List<String>> keys = viewKeys(d, sourceName);
      if (keys.size() > 1) {
        List<String> choices = new ArrayList<>();
        keys.forEach((k, views) -> choices.add(k + " (" + String.join(", ", views) + ")"));
        err.println(
            "error: the views of source "
                + sourceName
                + " have different join keys: "
                + String.join("; ", choices)
                + ". Choose the record key with --key FIELD, or --key '' for none");
        return QuiverCommand.FAILED;
      }
      key = keys.isEmpty() ? null : keys.keySet().iterator().next();
    }
    List<String> lines;
    int empty;
    try {
      byte[] all = file.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(file));
      lines = new ArrayList<>();
      empty = lines(all, lines);
    } catch (java.nio.file.NoSuchFileException e) {
      err.println("error: no file " + file);
      return QuiverCommand.FAILED;
    } catch (BadLine e) {
      err.println("error: " + file + ": " + e.getMessage() + "; nothing was sent");
      return QuiverCommand.FAILED;
    }
    Source src = source.get();
    String format = src.getKafka().getFormat().isEmpty() ? "json" : src.getKafka().getFormat();
    List<byte[]> values = new ArrayList<>();
    String how = "";
    if (!format.equals("json") || schemaId != null) {
      RecordEncoder encoder;
      try {
        encoder = RecordEncoder.of(src, schemaId);
      } catch (IllegalArgumentException e) {
        err.println("error: " + e.getMessage());
        return QuiverCommand.FAILED;
      }
      JsonRecordDecoder reader = new JsonRecordDecoder(src);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        if (line.isBlank()) {
          values.add(null);
          continue;
        }
        try {
          values.add(encoder.encode(reader.decode(line.getBytes(StandardCharsets.UTF_8))));
        } catch (BadRecordException e) {
          err.println(
              "error: "
                  + file
                  + ": line "
                  + (i + 1)
                  + " cannot be written as "
                  + format
                  + " ("
                  + e.reason().code()
                  + "): "
                  + e.getMessage()
                  + "; nothing was sent");
          return QuiverCommand.FAILED;
        }
      }
      how =
          " as "
              + format
              + (WireFormat.usesRegistry(src.getKafka())
                  ? " with writer schema " + (schemaId != null ? schemaId : highestId(src))
                  : "");
    } else {
      for (String line : lines) {
        values.add(line.isBlank() ? null : line.getBytes(StandardCharsets.UTF_8));
      }
    }
    String servers = Endpoints.bootstrap(options.repo, bootstrap);
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    long sent = 0;
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                servers,
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.LINGER_MS_CONFIG,
                10),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> acks =
          new ArrayList<>();
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        if (values.get(i) == null) {
          continue;
        }
        byte[] k = null;
        if (key != null) {
          try {
            var node = json.readTree(line).get(key);
            k =
                node == null || node.isNull()
                    ? null
                    : node.asText().getBytes(StandardCharsets.UTF_8);
          } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            k = null; // sent as is: ingestion sends it to the dead-letter topic with the reason
          }
        }
        acks.add(
            producer.send(
                new ProducerRecord<>(source.get().getKafka().getTopic(), k, values.get(i))));
        sent++;
      }
      producer.flush();
      for (var ack : acks) {
        ack.get();
      }
    }
    spec.commandLine()
        .getOut()
        .printf(
            "sent %d records to %s at %s%s%s%n",
            sent,
            source.get().getKafka().getTopic(),
            servers,
            how,
            empty == 0
                ? ""
                : " (" + empty + (empty == 1 ? " empty line" : " empty lines") + " skipped)");
    return 0;
  }

  private static int highestId(Source s) {
    return new java.util.TreeSet<>(s.getKafka().getWriterSchemasMap().keySet()).last();
  }

  /** A line of the file that cannot be sent as it is. */
  static final class BadLine extends Exception {
    BadLine(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Splits {@code bytes} into lines (a {@code \r} before the {@code \n} dropped), each decoded as
   * strict UTF-8, into {@code out}; returns how many are empty or blank.
   */
  static int lines(byte[] bytes, List<String> out) throws BadLine {
    int empty = 0;
    int start = 0;
    int number = 0;
    while (start < bytes.length) {
      int end = start;
      while (end < bytes.length && bytes[end] != '\n') {
        end++;
      }
      number++;
      int stop = end > start && bytes[end - 1] == '\r' ? end - 1 : end;
      byte[] line = java.util.Arrays.copyOfRange(bytes, start, stop);
      String text;
      try {
        text = StrictUtf8.decode(line).toString();
      } catch (StrictUtf8.MalformedException e) {
        throw new BadLine(
            String.format(
                "line %d is not UTF-8 text: byte %d of the line is 0x%02X",
                number, e.byteOffset() + 1, e.badByte()));
      }
      if (text.isBlank()) {
        empty++;
      }
      out.add(text);
      start = end + 1;
    }
    return empty;
  }

  /** The first join key of each view of {@code source}, with the views keyed by it. */
  private static Map<String, List<String>> viewKeys(RegistrySnapshot d, String source) {
    Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    for (FeatureView v : d.getFeatureViewsList()) {
      if (v.getSource().equals(source) && v.getEntitiesCount() > 0) {
        for (Entity e : d.getEntitiesList()) {
          if (e.getName().equals(v.getEntities(0)) && e.getJoinKeysCount() > 0) {
            out.computeIfAbsent(e.getJoinKeys(0).getName(), k -> new ArrayList<>())
                .add(v.getName());
          }
        }
      }
    }
    return out;
  }
}

package dev.quiver.server.cli;

import dev.quiver.proto.v1.Entity;
import dev.quiver.proto.v1.FeatureView;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.FeatureRepo;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
      "Send JSON lines to a source's topic, one record per line, keyed by the entity key so that",
      "each entity's events keep their order."
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
          "Field whose value keys each record. Default: the join key of the source's views.")
  String keyField;

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
    String key = keyField != null ? keyField : defaultKey(d, sourceName);
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
                new ByteArraySerializer());
        BufferedReader in =
            file.equals("-")
                ? new BufferedReader(
                    new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(Path.of(file))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) {
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
        producer.send(
            new ProducerRecord<>(
                source.get().getKafka().getTopic(), k, line.getBytes(StandardCharsets.UTF_8)));
        sent++;
      }
      producer.flush();
    }
    spec.commandLine()
        .getOut()
        .printf("sent %d records to %s at %s%n", sent, source.get().getKafka().getTopic(), servers);
    return 0;
  }

  private static String defaultKey(RegistrySnapshot d, String source) {
    for (FeatureView v : d.getFeatureViewsList()) {
      if (v.getSource().equals(source) && v.getEntitiesCount() > 0) {
        for (Entity e : d.getEntitiesList()) {
          if (e.getName().equals(v.getEntities(0)) && e.getJoinKeysCount() > 0) {
            return e.getJoinKeys(0).getName();
          }
        }
      }
    }
    return null;
  }
}

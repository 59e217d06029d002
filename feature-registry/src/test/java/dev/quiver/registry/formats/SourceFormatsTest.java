package dev.quiver.registry.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.registry.Diagnostic;
import dev.quiver.registry.FeatureRepo;
import dev.quiver.registry.RegistryValidationException;
import dev.quiver.registry.TestRepos;
import dev.quiver.registry.load.RepoLoader;
import dev.quiver.registry.plan.Change;
import dev.quiver.registry.plan.Plan;
import dev.quiver.registry.plan.Planner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Avro and Protobuf sources as the registry loads them: schema files read once into the registry,
 * declared fields checked against them at their YAML positions, writer schemas checked for
 * readability, and the plan of an edited schema.
 */
class SourceFormatsTest {
  @TempDir Path dir;

  static final String AVRO_V2 =
      """
      {"type": "record", "name": "Event", "namespace": "test.v1", "fields": [
        {"name": "id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "amount", "type": ["null", "double"], "default": null},
        {"name": "big", "type": ["null", "long"], "default": null}
      ]}
      """;

  /** Version 1: no amount; big was an int (Avro widens it to long). */
  static final String AVRO_V1 =
      """
      {"type": "record", "name": "Event", "namespace": "test.v1", "fields": [
        {"name": "id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "big", "type": ["null", "int"], "default": null},
        {"name": "legacy", "type": "string"}
      ]}
      """;

  /** id became an int: records of it cannot be read as string ids. */
  static final String AVRO_BAD =
      """
      {"type": "record", "name": "Event", "namespace": "test.v1", "fields": [
        {"name": "id", "type": "int"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}}
      ]}
      """;

  static String registry(String kafka, String schema) {
    return String.join(
        "\n",
        "entities:",
        "  user: {join_keys: {id: string}}",
        "sources:",
        "  events:",
        "    kafka: " + kafka,
        "    event_timestamp: ts",
        "    schema: " + schema,
        "");
  }

  private Path repo(String registry) {
    TestRepos.write(dir, "quiver.yaml", "project: formats\n");
    return TestRepos.write(dir, "features.yaml", registry);
  }

  private List<Diagnostic> problems() {
    RegistryValidationException e =
        catchThrowableOfType(RegistryValidationException.class, () -> RepoLoader.load(dir));
    assertThat(e).as("validation fails").isNotNull();
    return e.diagnostics();
  }

  private KafkaSource loaded() throws RegistryValidationException {
    return RepoLoader.load(dir).definition().getSources(0).getKafka();
  }

  @Test
  void avroSchemaContentAndWriterSchemasGoIntoTheRegistry() throws Exception {
    TestRepos.write(dir, "schemas/v2.avsc", AVRO_V2);
    TestRepos.write(dir, "schemas/v1.avsc", AVRO_V1);
    repo(
        registry(
            "{topic: events, format: avro, schema_file: schemas/v2.avsc, wire_format:"
                + " schema_registry, writer_schemas: {1: schemas/v1.avsc, 2: schemas/v2.avsc}}",
            "{id: string, ts: timestamp, amount: double, big: int64}"));

    KafkaSource k = loaded();

    assertThat(k.getFormat()).isEqualTo("avro");
    assertThat(k.getWireFormat()).isEqualTo("schema_registry");
    assertThat(k.getSchema().getAvroSchema()).isEqualTo(AVRO_V2);
    assertThat(k.getSchema().getFile()).isEqualTo("schemas/v2.avsc");
    assertThat(k.getWriterSchemasMap()).containsOnlyKeys(1, 2);
    assertThat(k.getWriterSchemasMap().get(1).getAvroSchema()).isEqualTo(AVRO_V1);
    // Served from the registry alone: the files may go.
    Files.delete(dir.resolve("schemas/v1.avsc"));
    assertThat(k.getWriterSchemasMap().get(1).getFile()).isEqualTo("schemas/v1.avsc");
  }

  @Test
  void aWriterSchemaTheReaderCannotReadIsAnErrorAtItsEntry() {
    TestRepos.write(dir, "schemas/v2.avsc", AVRO_V2);
    TestRepos.write(dir, "schemas/bad.avsc", AVRO_BAD);
    Path f =
        repo(
            registry(
                "{topic: events, format: avro, schema_file: schemas/v2.avsc, wire_format:"
                    + " schema_registry, writer_schemas: {7: schemas/bad.avsc}}",
                "{id: string, ts: timestamp}"));

    assertThat(problems())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.file()).isEqualTo(f.toString());
              assertThat(d.line()).isEqualTo(5);
              assertThat(d.column()).isEqualTo(122);
              assertThat(d.message())
                  .contains("writer schema 7 (schemas/bad.avsc) cannot be read with the reader")
                  .contains("type_mismatch")
                  .contains("/fields/0/type");
            });
  }

  @Test
  void anUnparseableAvroSchemaNamesItsOwnLineAndColumn() {
    TestRepos.write(dir, "schemas/bad.avsc", "{\"type\": \"record\",\n  \"name\": Event}\n");
    Path f =
        repo(
            registry(
                "{topic: events, format: avro, schema_file: schemas/bad.avsc}",
                "{id: string, ts: timestamp}"));

    assertThat(problems())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.file()).isEqualTo(f.toString());
              assertThat(d.line()).isEqualTo(5);
              assertThat(d.column()).isEqualTo(55);
              assertThat(d.message())
                  .startsWith("schema file schemas/bad.avsc:2:")
                  .contains("JSON");
            });
  }

  @Test
  void aSchemaFileOutsideTheRepoIsRefused() {
    repo(
        registry(
            "{topic: events, format: avro, schema_file: ../elsewhere.avsc}",
            "{id: string, ts: timestamp}"));
    assertThat(problems())
        .singleElement()
        .satisfies(d -> assertThat(d.message()).contains("is outside the feature repo"));
  }

  static FileDescriptorSet events(Type idType) {
    return TestProtos.set(
        "test/v1/event.proto",
        "test.v1",
        new TestProtos.Msg("Event")
            .field("id", 1, idType)
            .typed("ts", 2, Type.TYPE_MESSAGE, ".google.protobuf.Timestamp")
            .optional("amount", 3, Type.TYPE_DOUBLE)
            .repeated("tags", 4, Type.TYPE_STRING)
            .typed("color", 5, Type.TYPE_ENUM, ".test.v1.Color")
            .optional("count", 6, Type.TYPE_UINT32));
  }

  @Test
  void protobufFieldsAreCheckedAgainstTheMessageAtTheirPositions() throws IOException {
    Files.createDirectories(dir.resolve("schemas"));
    Files.write(dir.resolve("schemas/event.desc"), events(Type.TYPE_STRING).toByteArray());
    Path f =
        repo(
            registry(
                "{topic: events, format: protobuf, schema_file: schemas/event.desc, message:"
                    + " test.v1.Event}",
                "{id: string, ts: timestamp, amount: float, tags: list<string>, colour: string}"));

    assertThat(problems())
        .extracting(Diagnostic::toString)
        .containsExactly(
            f
                + ":7:49: field 'amount' of schemas/event.desc: declared float but the Protobuf"
                + " field is double; expected float",
            f
                + ":7:84: field 'colour' is not in Protobuf message test.v1.Event of"
                + " schemas/event.desc (did you mean 'color'?)");
  }

  @Test
  void protobufSchemaContentGoesIntoTheRegistry() throws Exception {
    Files.createDirectories(dir.resolve("schemas"));
    FileDescriptorSet set = events(Type.TYPE_STRING);
    Files.write(dir.resolve("schemas/event.desc"), set.toByteArray());
    repo(
        registry(
            "{topic: events, format: protobuf, schema_file: schemas/event.desc, message:"
                + " test.v1.Event}",
            "{id: string, ts: timestamp, amount: double, tags: list<string>, color: string,"
                + " count: int32}"));

    KafkaSource k = loaded();

    assertThat(k.getWireFormat()).isEqualTo("plain");
    assertThat(k.getSchema().getProtobufMessage()).isEqualTo("test.v1.Event");
    assertThat(k.getSchema().getProtobufDescriptorSet()).isEqualTo(set.toByteString());
  }

  @Test
  void aProtobufMessageTheSetLacksIsNamedWithTheOnesItHas() throws IOException {
    Files.createDirectories(dir.resolve("schemas"));
    Files.write(dir.resolve("schemas/event.desc"), events(Type.TYPE_STRING).toByteArray());
    repo(
        registry(
            "{topic: events, format: protobuf, schema_file: schemas/event.desc, message:"
                + " test.v1.Evnt}",
            "{id: string, ts: timestamp}"));
    assertThat(problems())
        .singleElement()
        .satisfies(
            d ->
                assertThat(d.message())
                    .contains("no message 'test.v1.Evnt'")
                    .contains("test.v1.Event")
                    .contains("google.protobuf.Timestamp"));
  }

  @Test
  void aProtobufWriterWhoseFieldNumberChangedTypeIsAnError() throws IOException {
    Files.createDirectories(dir.resolve("schemas"));
    Files.write(dir.resolve("schemas/event.desc"), events(Type.TYPE_STRING).toByteArray());
    Files.write(dir.resolve("schemas/old.desc"), events(Type.TYPE_INT64).toByteArray());
    repo(
        registry(
            "{topic: events, format: protobuf, schema_file: schemas/event.desc, message:"
                + " test.v1.Event, wire_format: schema_registry, writer_schemas: {3:"
                + " schemas/old.desc}}",
            "{id: string, ts: timestamp}"));
    assertThat(problems())
        .singleElement()
        .satisfies(
            d ->
                assertThat(d.message())
                    .contains("writer schema 3 (schemas/old.desc) cannot be read")
                    .contains("field 1 (id) is int64 in the writer and string in the reader"));
  }

  @Test
  void aProtoFileWithoutProtocOnThePathSaysWhatToDo() {
    Assumptions.assumeFalse(onPath("protoc"), "protoc is installed here");
    TestRepos.write(dir, "schemas/event.proto", "syntax = \"proto3\";\nmessage Event {}\n");
    repo(
        registry(
            "{topic: events, format: protobuf, schema_file: schemas/event.proto, message: Event}",
            "{id: string, ts: timestamp}"));
    assertThat(problems())
        .singleElement()
        .satisfies(
            d ->
                assertThat(d.message())
                    .contains("needs protoc on the PATH")
                    .contains("apt-get install protobuf-compiler")
                    .contains("--descriptor_set_out=schemas/event.desc"));
  }

  @Test
  void aProtoFileIsCompiledByProtocWhenThereIsOne() throws Exception {
    Assumptions.assumeTrue(onPath("protoc"), "no protoc here");
    TestRepos.write(
        dir,
        "schemas/event.proto",
        "syntax = \"proto3\";\npackage t;\nimport \"google/protobuf/timestamp.proto\";\n"
            + "message Event { string id = 1; google.protobuf.Timestamp ts = 2; int64 n = 3; }\n");
    repo(
        registry(
            "{topic: events, format: protobuf, schema_file: schemas/event.proto, message: t.Event}",
            "{id: string, ts: timestamp, n: int64}"));
    KafkaSource k = loaded();
    assertThat(
            SourceSchemas.protobuf(k.getSchema().getProtobufDescriptorSet(), "t.Event")
                .findFieldByName("ts")
                .getMessageType()
                .getFullName())
        .isEqualTo("google.protobuf.Timestamp");

    // A .proto protoc refuses: its message is the error.
    TestRepos.write(
        dir, "schemas/event.proto", "syntax = \"proto3\";\nmessage Event { strin id = 1; }\n");
    assertThat(problems())
        .singleElement()
        .satisfies(d -> assertThat(d.message()).contains("protoc failed").contains("strin"));
  }

  private static boolean onPath(String command) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, command))) {
        return true;
      }
    }
    return false;
  }

  @Test
  void anEditedSchemaIsASafeChangeAndANewWireFormatABreakingOne() throws Exception {
    TestRepos.write(dir, "schemas/v2.avsc", AVRO_V2);
    repo(
        registry(
            "{topic: events, format: avro, schema_file: schemas/v2.avsc}",
            "{id: string, ts: timestamp}"));
    FeatureRepo first = RepoLoader.load(dir);
    RegistrySnapshot applied =
        Planner.plan(RegistrySnapshot.getDefaultInstance(), first, false).next().toBuilder()
            .setVersion(1)
            .build();

    TestRepos.write(dir, "schemas/v2.avsc", AVRO_V2.replace("\"big\"", "\"bigger\""));
    Plan edited = Planner.plan(applied, RepoLoader.load(dir), false);
    assertThat(edited.changes())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.field()).isEqualTo("kafka.schema");
              assertThat(c.severity()).isEqualTo(Change.Severity.SAFE);
              assertThat(c.before()).startsWith("schemas/v2.avsc (sha256 ");
              assertThat(c.after()).isNotEqualTo(c.before());
            });

    TestRepos.write(dir, "schemas/v1.avsc", AVRO_V2);
    repo(
        registry(
            "{topic: events, format: avro, schema_file: schemas/v2.avsc, wire_format:"
                + " schema_registry, writer_schemas: {1: schemas/v1.avsc}}",
            "{id: string, ts: timestamp}"));
    Plan rewired = Planner.plan(applied, RepoLoader.load(dir), false);
    assertThat(rewired.changes())
        .filteredOn(c -> c.field().equals("kafka.wire_format"))
        .singleElement()
        .satisfies(c -> assertThat(c.severity()).isEqualTo(Change.Severity.BREAKING));
  }
}

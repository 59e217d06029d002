package dev.quiver.ingestion;

import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.Types;
import dev.quiver.registry.formats.TestProtos;
import java.util.List;
import java.util.Map;

/**
 * One source's fields in three encodings for the format tests: the declared schema, Avro reader and
 * writer schemas (an evolved one that resolves, an incompatible one) and Protobuf messages alike.
 */
final class FormatFixtures {
  private FormatFixtures() {}

  static final List<Field> FIELDS =
      List.of(
          field("id", "string"),
          field("ts", "timestamp"),
          field("amount", "double"),
          field("n", "int32"),
          field("big", "int64"),
          field("ok", "bool"),
          field("blob", "bytes"),
          field("tags", "list<string>"),
          field("color", "string"),
          field("score", "float"));

  /** The declared schema in YAML. */
  static final String YAML_SCHEMA =
      "{id: string, ts: timestamp, amount: double, n: int32, big: int64, ok: bool, blob: bytes,"
          + " tags: list<string>, color: string, score: float}";

  static Field field(String name, String type) {
    return Field.newBuilder().setName(name).setType(Types.parse(type).orElseThrow()).build();
  }

  /** The reader schema (version 2). */
  static final String AVRO_READER =
      """
      {"type": "record", "name": "Event", "namespace": "test.v1", "fields": [
        {"name": "id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "amount", "type": ["null", "double"], "default": null},
        {"name": "n", "type": ["null", "int"], "default": null},
        {"name": "big", "type": ["null", "long"], "default": null},
        {"name": "ok", "type": ["null", "boolean"], "default": null},
        {"name": "blob", "type": ["null", "bytes"], "default": null},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "color", "type": ["null", {"type": "enum", "name": "Color",
          "symbols": ["RED", "GREEN"]}], "default": null},
        {"name": "score", "type": ["null", "float"], "default": null}
      ]}
      """;

  /**
   * Version 1: no amount, color or score (the reader's defaults fill them), big was an int (Avro
   * widens it), and a field the reader dropped (legacy), written first.
   */
  static final String AVRO_WRITER_V1 =
      """
      {"type": "record", "name": "Event", "namespace": "test.v1", "fields": [
        {"name": "legacy", "type": "string", "default": "none"},
        {"name": "id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "n", "type": ["null", "int"], "default": null},
        {"name": "big", "type": ["null", "int"], "default": null},
        {"name": "ok", "type": ["null", "boolean"], "default": null},
        {"name": "blob", "type": ["null", "bytes"], "default": null},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []}
      ]}
      """;

  /** id became a long: the reader's string id cannot be read from it. */
  static final String AVRO_WRITER_INCOMPATIBLE =
      """
      {"type": "record", "name": "Event", "namespace": "test.v1", "fields": [
        {"name": "id", "type": "long"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}}
      ]}
      """;

  /** The reader message test.v1.Event (and a second message, Other, in the same file). */
  static FileDescriptorSet protoReader() {
    return TestProtos.set(
        "test/v1/event.proto",
        "test.v1",
        new TestProtos.Msg("Event")
            .field("id", 1, Type.TYPE_STRING)
            .typed("ts", 2, Type.TYPE_MESSAGE, ".google.protobuf.Timestamp")
            .optional("amount", 3, Type.TYPE_DOUBLE)
            .optional("n", 4, Type.TYPE_UINT32)
            .optional("big", 5, Type.TYPE_INT64)
            .optional("ok", 6, Type.TYPE_BOOL)
            .optional("blob", 7, Type.TYPE_BYTES)
            .repeated("tags", 8, Type.TYPE_STRING)
            .typed("color", 9, Type.TYPE_ENUM, ".test.v1.Color")
            .optional("score", 10, Type.TYPE_FLOAT),
        new TestProtos.Msg("Other").field("id", 1, Type.TYPE_INT64));
  }

  /**
   * Version 1: no amount, color or score, big was an int32 (widened), a field the reader dropped
   * (legacy, 20). The first message of the file is Other, so Event's message index is [1].
   */
  static FileDescriptorSet protoWriterV1() {
    return TestProtos.set(
        "test/v1/event.proto",
        "test.v1",
        new TestProtos.Msg("Other").field("id", 1, Type.TYPE_INT64),
        new TestProtos.Msg("Event")
            .field("id", 1, Type.TYPE_STRING)
            .typed("ts", 2, Type.TYPE_MESSAGE, ".google.protobuf.Timestamp")
            .optional("n", 4, Type.TYPE_UINT32)
            .optional("big", 5, Type.TYPE_INT32)
            .optional("ok", 6, Type.TYPE_BOOL)
            .optional("blob", 7, Type.TYPE_BYTES)
            .repeated("tags", 8, Type.TYPE_STRING)
            .field("legacy", 20, Type.TYPE_STRING));
  }

  /** amount (3) became a string: it would be misread as a double. */
  static FileDescriptorSet protoWriterIncompatible() {
    return TestProtos.set(
        "test/v1/event.proto",
        "test.v1",
        new TestProtos.Msg("Event")
            .field("id", 1, Type.TYPE_STRING)
            .typed("ts", 2, Type.TYPE_MESSAGE, ".google.protobuf.Timestamp")
            .field("amount", 3, Type.TYPE_STRING));
  }

  static SchemaContent avro(String file, String text) {
    return SchemaContent.newBuilder().setFile(file).setAvroSchema(text).build();
  }

  static SchemaContent proto(String file, FileDescriptorSet set) {
    return SchemaContent.newBuilder()
        .setFile(file)
        .setProtobufDescriptorSet(set.toByteString())
        .setProtobufMessage("test.v1.Event")
        .build();
  }

  /** A source built as the registry would, with writer schemas by id when {@code writers}. */
  static Source source(String format, SchemaContent reader, Map<Integer, SchemaContent> writers) {
    KafkaSource.Builder k =
        KafkaSource.newBuilder()
            .setTopic("events")
            .setFormat(format)
            .setWireFormat(writers == null ? "plain" : "schema_registry")
            .setSchema(reader);
    if (writers != null) {
      k.putAllWriterSchemas(writers);
    }
    return Source.newBuilder()
        .setName("events")
        .setKafka(k)
        .setEventTimestampField("ts")
        .addAllSchema(FIELDS)
        .build();
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}

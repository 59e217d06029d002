package dev.quiver.ingestion;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.formats.SchemaTypes;
import dev.quiver.registry.formats.SourceSchemas;
import dev.quiver.registry.formats.ValueException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

/**
 * Writes a source's declared fields, in their Java forms (as {@link RecordDecoder} gives them), in
 * the source's format: the inverse of its decoder, through the same type mapping ({@link
 * SchemaTypes}). With {@code wire_format: schema_registry} the value is written with one writer
 * schema (by id) and starts with its header. For {@code quiver produce} and benchmarks.
 *
 * <p>Thread-safe.
 */
public interface RecordEncoder {
  /**
   * The record value of {@code fields}.
   *
   * @throws BadRecordException when a value cannot be written in the schema (a required Avro field
   *     absent, an enum symbol the enum lacks, a negative number for an unsigned field)
   */
  byte[] encode(RecordDecoder.Fields fields) throws BadRecordException;

  /**
   * The encoder of {@code source}'s format; {@code schemaId} chooses the writer schema of a source
   * with {@code wire_format: schema_registry} (null: the highest id) and must be null otherwise.
   *
   * @throws IllegalArgumentException for a format there is no encoder of, or an id the source does
   *     not list
   */
  static RecordEncoder of(Source source, Integer schemaId) {
    KafkaSource k = source.getKafka();
    boolean registry = WireFormat.usesRegistry(k);
    if (!registry && schemaId != null) {
      throw new IllegalArgumentException(
          "source "
              + source.getName()
              + " has no wire_format schema_registry; a schema id has no use");
    }
    SchemaContent writer = k.getSchema();
    Integer id = null;
    if (registry) {
      TreeMap<Integer, SchemaContent> ids = new TreeMap<>(k.getWriterSchemasMap());
      id = schemaId != null ? schemaId : ids.isEmpty() ? null : ids.lastKey();
      if (id == null || !ids.containsKey(id)) {
        throw new IllegalArgumentException(
            "source "
                + source.getName()
                + ": schema id "
                + id
                + " is not one of its writer_schemas "
                + ids.keySet());
      }
      writer = ids.get(id);
    }
    return switch (k.getFormat()) {
      case "", "json" -> new Json(source);
      case "avro" -> new Avro(source, writer, id);
      case "protobuf" -> new Protobuf(source, writer, id);
      default ->
          throw new IllegalArgumentException(
              "source " + source.getName() + ": no encoder of format '" + k.getFormat() + "'");
    };
  }

  /** JSON lines, as they were: an object of the present fields (nulls included). */
  final class Json implements RecordEncoder {
    private static final com.fasterxml.jackson.core.JsonFactory JSON =
        new com.fasterxml.jackson.core.JsonFactory();
    private final Map<String, ValueType> types = new LinkedHashMap<>();

    Json(Source source) {
      source.getSchemaList().forEach(f -> types.put(f.getName(), f.getType()));
    }

    @Override
    public byte[] encode(RecordDecoder.Fields fields) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (var g = JSON.createGenerator(out)) {
        g.writeStartObject();
        for (Map.Entry<String, ValueType> e : types.entrySet()) {
          Object v = fields.values().get(e.getKey());
          if (v == null) {
            if (fields.nulls().contains(e.getKey())) {
              g.writeNullField(e.getKey());
            }
            continue;
          }
          g.writeFieldName(e.getKey());
          if (v instanceof List<?> list) {
            g.writeStartArray();
            for (Object item : list) {
              scalar(g, item);
            }
            g.writeEndArray();
          } else {
            scalar(g, v);
          }
        }
        g.writeEndObject();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return out.toByteArray();
    }

    private static void scalar(com.fasterxml.jackson.core.JsonGenerator g, Object v)
        throws IOException {
      if (v instanceof com.google.protobuf.ByteString b) {
        g.writeString(java.util.Base64.getEncoder().encodeToString(b.toByteArray()));
      } else if (v instanceof java.time.Instant t) {
        g.writeString(t.toString());
      } else if (v instanceof String s) {
        g.writeString(s);
      } else if (v instanceof Boolean b) {
        g.writeBoolean(b);
      } else if (v instanceof Integer i) {
        g.writeNumber(i);
      } else if (v instanceof Long l) {
        g.writeNumber(l);
      } else if (v instanceof Float f) {
        g.writeNumber(f);
      } else {
        g.writeNumber((Double) v);
      }
    }
  }

  /** Binary Avro, with the writer schema. */
  final class Avro implements RecordEncoder {
    private final Schema writer;
    private final Map<String, ValueType> types = new LinkedHashMap<>();
    private final GenericDatumWriter<GenericRecord> datumWriter;
    private final byte[] header;

    Avro(Source source, SchemaContent schema, Integer id) {
      try {
        writer = SourceSchemas.avro(schema.getAvroSchema());
      } catch (SourceSchemas.SchemaException e) {
        throw new IllegalArgumentException(
            "source " + source.getName() + ": unusable Avro schema: " + e.getMessage(), e);
      }
      source.getSchemaList().forEach(f -> types.put(f.getName(), f.getType()));
      datumWriter = new GenericDatumWriter<>(writer);
      header = id == null ? new byte[0] : WireFormat.header(id, null);
    }

    @Override
    public byte[] encode(RecordDecoder.Fields fields) throws BadRecordException {
      GenericData.Record r = new GenericData.Record(writer);
      for (Schema.Field f : writer.getFields()) {
        Object v = fields.values().get(f.name());
        ValueType type = types.get(f.name());
        if (v != null && type != null) {
          String problem = SchemaTypes.avroProblem(type, f.schema());
          if (problem != null) {
            throw new BadRecordException(
                DeadLetterReason.WRONG_TYPE, "'" + f.name() + "' cannot be written: " + problem);
          }
          try {
            r.put(f.pos(), SchemaTypes.toAvro(type, f.schema(), v, f.name()));
          } catch (ValueException e) {
            throw WireFormat.bad(e);
          }
        } else if (SchemaTypes.nonNull(f.schema()) != f.schema()) {
          r.put(f.pos(), null);
        } else if (f.hasDefaultValue() && !fields.nulls().contains(f.name())) {
          r.put(f.pos(), GenericData.get().getDefaultValue(f));
        } else {
          throw new BadRecordException(
              DeadLetterReason.WRONG_TYPE,
              "'"
                  + f.name()
                  + "' is "
                  + (fields.nulls().contains(f.name()) ? "null" : "absent")
                  + " but Avro field "
                  + f.name()
                  + " of "
                  + writer.getFullName()
                  + " is "
                  + SchemaTypes.describe(f.schema())
                  + (fields.nulls().contains(f.name())
                      ? ", which cannot be null"
                      : " with no default"));
        }
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream(64);
      out.writeBytes(header);
      BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(out, null);
      try {
        datumWriter.write(r, e);
        e.flush();
      } catch (IOException | RuntimeException ex) {
        throw new BadRecordException(
            DeadLetterReason.WRONG_TYPE, "cannot write the Avro record: " + ex.getMessage());
      }
      return out.toByteArray();
    }
  }

  /** Protobuf, with the writer message. */
  final class Protobuf implements RecordEncoder {
    private final Descriptor message;
    private final List<Field> declared;
    private final byte[] header;

    Protobuf(Source source, SchemaContent schema, Integer id) {
      String name =
          schema.getProtobufMessage().isEmpty()
              ? source.getKafka().getSchema().getProtobufMessage()
              : schema.getProtobufMessage();
      try {
        message = SourceSchemas.protobuf(schema.getProtobufDescriptorSet(), name);
      } catch (SourceSchemas.SchemaException e) {
        throw new IllegalArgumentException(
            "source " + source.getName() + ": unusable Protobuf schema: " + e.getMessage(), e);
      }
      declared = List.copyOf(source.getSchemaList());
      header = id == null ? new byte[0] : WireFormat.header(id, indexes(message));
    }

    /** The message-index path of a message in its file. */
    static List<Integer> indexes(Descriptor d) {
      List<Integer> path = new ArrayList<>();
      for (Descriptor at = d; at != null; at = at.getContainingType()) {
        path.add(at.getIndex());
      }
      Collections.reverse(path);
      return path;
    }

    @Override
    public byte[] encode(RecordDecoder.Fields fields) throws BadRecordException {
      DynamicMessage.Builder b = DynamicMessage.newBuilder(message);
      for (Field f : declared) {
        Object v = fields.values().get(f.getName());
        FieldDescriptor fd = message.findFieldByName(f.getName());
        if (v == null || fd == null) {
          continue; // null, absent, or a field this writer schema does not have
        }
        String problem = SchemaTypes.protobufProblem(f.getType(), fd);
        if (problem != null) {
          throw new BadRecordException(
              DeadLetterReason.WRONG_TYPE, "'" + f.getName() + "' cannot be written: " + problem);
        }
        try {
          b.setField(fd, SchemaTypes.toProtobuf(f.getType(), fd, v, f.getName()));
        } catch (ValueException e) {
          throw WireFormat.bad(e);
        }
      }
      byte[] body = b.build().toByteArray();
      byte[] out = new byte[header.length + body.length];
      System.arraycopy(header, 0, out, 0, header.length);
      System.arraycopy(body, 0, out, header.length, body.length);
      return out;
    }
  }
}

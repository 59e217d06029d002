package dev.quiver.ingestion;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.formats.SchemaTypes;
import dev.quiver.registry.formats.SourceSchemas;
import dev.quiver.registry.formats.ValueException;
import dev.quiver.registry.util.Messages;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decodes Protobuf records of one source as {@link DynamicMessage}s of the reader message ({@code
 * schema_file}'s {@code message}). Fields are matched by number, as Protobuf does: fields the
 * reader does not know are skipped; a field with presence (proto3 {@code optional}, proto2, a
 * message field) that is absent is null; a proto3 field without presence that is absent has its
 * default value (0, "", false), which is what such a field means; an absent repeated field is an
 * empty list.
 *
 * <p>With {@code wire_format: schema_registry} the header's id picks a writer schema among {@code
 * writer_schemas} and its message-index list picks the message in it; the pair is checked once
 * against the reader message by field number ({@link SourceSchemas#protobufIncompatibility}) and
 * the verdict kept, so a record of an incompatible writer goes to the dead-letter topic ({@code
 * incompatible_writer_schema}) rather than being misread.
 *
 * <p>Thread-safe.
 */
public final class ProtobufRecordDecoder implements RecordDecoder {
  private record Slot(String name, ValueType type, FieldDescriptor field) {}

  private final Descriptor reader;
  private final List<Slot> slots = new ArrayList<>();
  private final boolean registry;
  private final Map<Integer, SchemaContent> writers;
  private final String message;

  /** Verdicts per writer id and message indexes: null when compatible, else the dead letter. */
  private final Map<String, BadRecordException> checked = new ConcurrentHashMap<>();

  /** The most (writer id, message indexes) verdicts kept. */
  private static final int MAX_CHECKED = 1024;

  private static final BadRecordException COMPATIBLE =
      new BadRecordException(DeadLetterReason.INTERNAL_ERROR, "compatible");

  /**
   * A decoder of the fields {@code source} declares.
   *
   * @throws IllegalArgumentException if the descriptor set or message is unusable, or lacks a
   *     declared field (a registry that did not pass validation)
   */
  public ProtobufRecordDecoder(Source source) {
    SchemaContent schema = source.getKafka().getSchema();
    message = schema.getProtobufMessage();
    try {
      reader = SourceSchemas.protobuf(schema.getProtobufDescriptorSet(), message);
    } catch (SourceSchemas.SchemaException e) {
      throw new IllegalArgumentException(
          "source " + source.getName() + ": unusable Protobuf schema: " + e.getMessage(), e);
    }
    for (Field f : source.getSchemaList()) {
      FieldDescriptor fd = reader.findFieldByName(f.getName());
      String problem =
          fd == null ? "not in message " + message : SchemaTypes.protobufProblem(f.getType(), fd);
      if (problem != null) {
        throw new IllegalArgumentException(
            "source " + source.getName() + ": field '" + f.getName() + "' " + problem);
      }
      slots.add(new Slot(f.getName(), f.getType(), fd));
    }
    registry = WireFormat.usesRegistry(source.getKafka());
    writers = Map.copyOf(source.getKafka().getWriterSchemasMap());
  }

  @Override
  public Fields decode(byte[] value) throws BadRecordException {
    int offset = 0;
    if (registry) {
      int id = WireFormat.schemaId(value);
      WireFormat.Indexes indexes = WireFormat.messageIndexes(value);
      String key = id + ":" + indexes.path();
      BadRecordException refusal = checked.get(key);
      if (refusal == null) {
        refusal = check(id, indexes.path());
        // Ids and indexes come from the records: only known ids are kept, and only so many.
        if (writers.containsKey(id) && checked.size() < MAX_CHECKED) {
          checked.put(key, refusal);
        }
      }
      if (refusal != COMPATIBLE) {
        throw refusal;
      }
      offset = indexes.payloadOffset();
    }
    DynamicMessage m;
    try {
      m =
          DynamicMessage.parseFrom(
              reader, CodedInputStream.newInstance(value, offset, value.length - offset));
    } catch (InvalidProtocolBufferException e) {
      String why = Messages.clip(e.getMessage());
      throw new BadRecordException(
          why != null && why.contains("UTF-8")
              ? DeadLetterReason.INVALID_STRING
              : DeadLetterReason.UNDECODABLE_PAYLOAD,
          "not a Protobuf " + message + ": " + why);
    } catch (java.io.IOException | RuntimeException e) {
      throw new BadRecordException(
          DeadLetterReason.UNDECODABLE_PAYLOAD,
          "not a Protobuf " + message + ": " + Messages.clip(String.valueOf(e)));
    }
    Map<String, Object> values = new HashMap<>();
    Set<String> nulls = new HashSet<>();
    for (Slot s : slots) {
      FieldDescriptor fd = s.field();
      if (!fd.isRepeated() && fd.hasPresence() && !m.hasField(fd)) {
        nulls.add(s.name());
        continue;
      }
      try {
        values.put(s.name(), SchemaTypes.fromProtobuf(s.type(), fd, m.getField(fd), s.name()));
      } catch (ValueException e) {
        throw WireFormat.bad(e);
      }
    }
    return new Fields(values, nulls);
  }

  private BadRecordException check(int id, List<Integer> indexes) {
    SchemaContent c = writers.get(id);
    if (c == null) {
      return new BadRecordException(
          DeadLetterReason.UNKNOWN_SCHEMA_ID,
          "schema id "
              + id
              + " is not one of the source's writer_schemas "
              + new java.util.TreeSet<>(writers.keySet()));
    }
    Descriptor writer;
    try {
      writer =
          SourceSchemas.protobufByIndexes(
              c.getProtobufDescriptorSet(),
              c.getProtobufMessage().isEmpty() ? message : c.getProtobufMessage(),
              indexes);
    } catch (SourceSchemas.SchemaException e) {
      return new BadRecordException(
          DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
          "writer schema " + id + " (" + c.getFile() + "): " + e.getMessage());
    }
    String why = SourceSchemas.protobufIncompatibility(reader, writer);
    if (why != null) {
      return new BadRecordException(
          DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
          "records of writer schema "
              + id
              + " ("
              + c.getFile()
              + ", message "
              + writer.getFullName()
              + ") cannot be read as "
              + message
              + ": "
              + why);
    }
    return COMPATIBLE;
  }
}

package dev.quiver.ingestion;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
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
 * Decodes Protobuf records of one source as the reader message ({@code schema_file}'s {@code
 * message}), reading the declared fields straight from the wire (no message is built). Fields are
 * matched by number, as Protobuf does: fields the reader does not know are skipped; a field with
 * presence (proto3 {@code optional}, proto2, a message field) that is absent is null; a proto3
 * field without presence that is absent has its default value (0, "", false), which is what such a
 * field means; an absent repeated field is an empty list.
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
  private record Slot(String name, ValueType type, FieldDescriptor field, int index) {}

  /** A (writer id, message indexes) pair. */
  private record Writer(int id, List<Integer> indexes) {}

  private final Descriptor reader;
  private final List<Slot> slots = new ArrayList<>();
  private final boolean registry;
  private final Map<Integer, SchemaContent> writers;
  private final String message;

  /** Verdicts per writer id and message indexes: null when compatible, else the dead letter. */
  private final Map<Writer, BadRecordException> checked = new ConcurrentHashMap<>();

  /** Declared fields by field number. */
  private final Map<Integer, Slot> byNumber = new HashMap<>();

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
      Slot slot = new Slot(f.getName(), f.getType(), fd, slots.size());
      slots.add(slot);
      byNumber.put(fd.getNumber(), slot);
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
      Writer key = new Writer(id, indexes.path());
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
    Object[] read = new Object[slots.size()];
    try {
      parse(CodedInputStream.newInstance(value, offset, value.length - offset), read);
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
      Object v = read[s.index()];
      if (v == null) {
        if (fd.isRepeated()) {
          v = List.of();
        } else if (fd.hasPresence()) {
          nulls.add(s.name());
          continue;
        } else {
          v = fd.getDefaultValue(); // proto3 without presence: absent means the default
        }
      }
      try {
        values.put(s.name(), SchemaTypes.fromProtobuf(s.type(), fd, v, s.name()));
      } catch (ValueException e) {
        throw WireFormat.bad(e);
      }
    }
    return new Fields(values, nulls);
  }

  /**
   * Reads the declared fields of one message as Protobuf's own parser does, without building the
   * message: the last occurrence of a singular field wins (a message field's occurrences merge),
   * repeated fields gather packed and unpacked elements, and fields not declared, or whose wire
   * type does not match their descriptor, are skipped as unknown fields. Strings are strict UTF-8.
   * Values take the forms {@link com.google.protobuf.Message#getField} gives.
   */
  private void parse(CodedInputStream in, Object[] read) throws java.io.IOException {
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        return;
      }
      Slot s = byNumber.get(com.google.protobuf.WireFormat.getTagFieldNumber(tag));
      if (s == null || !field(in, tag, s.field(), read, s.index())) {
        if (!in.skipField(tag)) {
          throw new InvalidProtocolBufferException("an end-group tag that opens no group");
        }
      }
    }
  }

  /** Reads one occurrence of a declared field; false if its wire type is not the field's. */
  @SuppressWarnings("unchecked")
  private static boolean field(
      CodedInputStream in, int tag, FieldDescriptor f, Object[] read, int index)
      throws java.io.IOException {
    int wire = com.google.protobuf.WireFormat.getTagWireType(tag);
    int expected = f.getLiteType().getWireType();
    if (f.isRepeated()) {
      List<Object> list = (List<Object>) read[index];
      if (list == null) {
        list = new ArrayList<>();
        read[index] = list;
      }
      if (wire == com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED
          && f.getLiteType().isPackable()) {
        int limit = in.pushLimit(in.readRawVarint32());
        while (in.getBytesUntilLimit() > 0) {
          list.add(scalar(in, f, null));
        }
        in.popLimit(limit);
        return true;
      }
      if (wire != expected) {
        return false;
      }
      list.add(scalar(in, f, null));
      return true;
    }
    if (wire != expected) {
      return false;
    }
    read[index] = scalar(in, f, read[index]);
    return true;
  }

  private static Object scalar(CodedInputStream in, FieldDescriptor f, Object previous)
      throws java.io.IOException {
    return switch (f.getType()) {
      case DOUBLE -> in.readDouble();
      case FLOAT -> in.readFloat();
      case INT64 -> in.readInt64();
      case UINT64 -> in.readUInt64();
      case INT32 -> in.readInt32();
      case FIXED64 -> in.readFixed64();
      case FIXED32 -> in.readFixed32();
      case BOOL -> in.readBool();
      case STRING -> in.readStringRequireUtf8();
      case BYTES -> in.readBytes();
      case UINT32 -> in.readUInt32();
      case ENUM -> f.getEnumType().findValueByNumberCreatingIfUnknown(in.readEnum());
      case SFIXED32 -> in.readSFixed32();
      case SFIXED64 -> in.readSFixed64();
      case SINT32 -> in.readSInt32();
      case SINT64 -> in.readSInt64();
      case MESSAGE -> timestamp(in, (Timestamp) previous);
      default -> throw new InvalidProtocolBufferException("unsupported field type " + f.getType());
    };
  }

  /**
   * A google.protobuf.Timestamp (the one message a declared type maps to), merged as Protobuf does.
   */
  private static Timestamp timestamp(CodedInputStream in, Timestamp previous)
      throws java.io.IOException {
    Timestamp.Builder t = previous == null ? Timestamp.newBuilder() : previous.toBuilder();
    int limit = in.pushLimit(in.readRawVarint32());
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      if (tag == 8) {
        t.setSeconds(in.readInt64());
      } else if (tag == 16) {
        t.setNanos(in.readInt32());
      } else if (!in.skipField(tag)) {
        throw new InvalidProtocolBufferException("an end-group tag that opens no group");
      }
    }
    in.checkLastTagWas(0);
    in.popLimit(limit);
    return t.build();
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

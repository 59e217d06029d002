package dev.quiver.ingestion;

import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.proto.v1.Source;
import dev.quiver.proto.v1.ValueType;
import dev.quiver.registry.formats.SchemaTypes;
import dev.quiver.registry.formats.SourceSchemas;
import dev.quiver.registry.formats.ValueException;
import dev.quiver.registry.util.Messages;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * Decodes binary Avro records (no container file, no single-object header) of one source.
 *
 * <p>With {@code wire_format: plain} a record is written with the reader schema ({@code
 * schema_file}) itself. With {@code schema_registry} the header's id picks the writer schema among
 * {@code writer_schemas}, and the record is resolved to the reader schema as Avro's specification
 * defines it: fields the writer lacks take the reader's default, fields the reader lacks are
 * skipped, int/long/float widen, enum symbols and union branches are matched by name. A reader is
 * built once per id and kept; an id whose schema Avro cannot resolve to the reader's is refused
 * once, with Avro's reason, and every record of it goes to the dead-letter topic ({@code
 * incompatible_writer_schema}).
 *
 * <p>Values are read by {@link SchemaTypes#fromAvro}: strings strict UTF-8, timestamps inside the
 * accepted range. A record must use up its bytes exactly ({@code undecodable_payload} otherwise).
 *
 * <p>Thread-safe.
 */
public final class AvroRecordDecoder implements RecordDecoder {
  /** One declared field: where it is in the reader record and its schema. */
  private record Slot(String name, ValueType type, int pos, Schema schema) {}

  /** A writer id's reader, or why there is none. */
  private record Reader(
      GenericDatumReader<GenericRecord> reader, DeadLetterReason refusal, String why) {}

  private final Schema readerSchema;
  private final List<Slot> slots = new ArrayList<>();
  private final boolean registry;
  private final Map<Integer, SchemaContent> writers;
  private final Map<Integer, Reader> readers = new ConcurrentHashMap<>();
  private final GenericDatumReader<GenericRecord> plain;

  /**
   * A decoder of the fields {@code source} declares.
   *
   * @throws IllegalArgumentException if the source's reader schema is unusable, or lacks a declared
   *     field (a registry that did not pass validation)
   */
  public AvroRecordDecoder(Source source) {
    try {
      readerSchema = SourceSchemas.avro(source.getKafka().getSchema().getAvroSchema());
    } catch (SourceSchemas.SchemaException e) {
      throw new IllegalArgumentException(
          "source " + source.getName() + ": unusable Avro schema: " + e.getMessage(), e);
    }
    for (Field f : source.getSchemaList()) {
      Schema.Field af = readerSchema.getField(f.getName());
      String problem =
          af == null ? "not in the Avro schema" : SchemaTypes.avroProblem(f.getType(), af.schema());
      if (problem != null) {
        throw new IllegalArgumentException(
            "source " + source.getName() + ": field '" + f.getName() + "' " + problem);
      }
      slots.add(new Slot(f.getName(), f.getType(), af.pos(), af.schema()));
    }
    registry = WireFormat.usesRegistry(source.getKafka());
    writers = Map.copyOf(source.getKafka().getWriterSchemasMap());
    plain = new GenericDatumReader<>(readerSchema);
  }

  @Override
  public Fields decode(byte[] value) throws BadRecordException {
    GenericDatumReader<GenericRecord> reader = plain;
    int offset = 0;
    if (registry) {
      reader = readerOf(WireFormat.schemaId(value));
      offset = WireFormat.HEADER_BYTES;
    }
    GenericRecord record;
    try {
      BinaryDecoder in =
          DecoderFactory.get().binaryDecoder(value, offset, value.length - offset, null);
      record = reader.read(null, in);
      if (!in.isEnd()) {
        throw new BadRecordException(
            DeadLetterReason.UNDECODABLE_PAYLOAD,
            "bytes are left after the Avro record (the value is "
                + value.length
                + " bytes): not written with the schema it is read with");
      }
    } catch (IOException | RuntimeException e) {
      throw new BadRecordException(
          DeadLetterReason.UNDECODABLE_PAYLOAD,
          "not an Avro record of "
              + reader.getSchema().getFullName()
              + ": "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + Messages.clip(e.getMessage())));
    }
    Map<String, Object> values = new HashMap<>();
    Set<String> nulls = new HashSet<>();
    for (Slot s : slots) {
      Object datum = record.get(s.pos());
      if (datum == null) {
        nulls.add(s.name());
        continue;
      }
      try {
        values.put(s.name(), SchemaTypes.fromAvro(s.type(), s.schema(), datum, s.name()));
      } catch (ValueException e) {
        throw WireFormat.bad(e);
      }
    }
    return new Fields(values, nulls);
  }

  private GenericDatumReader<GenericRecord> readerOf(int id) throws BadRecordException {
    // Ids come from the records: only the source's own are kept.
    Reader r = writers.containsKey(id) ? readers.computeIfAbsent(id, this::build) : build(id);
    if (r.reader() == null) {
      throw new BadRecordException(r.refusal(), r.why());
    }
    return r.reader();
  }

  private Reader build(int id) {
    SchemaContent c = writers.get(id);
    if (c == null) {
      return new Reader(
          null,
          DeadLetterReason.UNKNOWN_SCHEMA_ID,
          "schema id "
              + id
              + " is not one of the source's writer_schemas "
              + new java.util.TreeSet<>(writers.keySet()));
    }
    Schema writer;
    try {
      writer = SourceSchemas.avro(c.getAvroSchema());
    } catch (SourceSchemas.SchemaException e) {
      return new Reader(
          null,
          DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
          "writer schema " + id + " (" + c.getFile() + ") is unusable: " + e.getMessage());
    }
    String why = SourceSchemas.avroIncompatibility(readerSchema, writer);
    if (why != null) {
      return new Reader(
          null,
          DeadLetterReason.INCOMPATIBLE_WRITER_SCHEMA,
          "records of writer schema "
              + id
              + " ("
              + c.getFile()
              + ") cannot be read with the reader schema: "
              + why);
    }
    return new Reader(new GenericDatumReader<>(writer, readerSchema), null, null);
  }
}

package dev.quiver.registry.formats;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.quiver.registry.util.Messages;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * Reading the schemas a source's records are written in, as the registry holds them (the content,
 * not the files): Avro schema text, Protobuf descriptor sets; and whether a writer's schema can be
 * read with the reader's. Validation and the decoders call the same methods.
 *
 * <p>Stateless and thread-safe.
 */
public final class SourceSchemas {
  private SourceSchemas() {}

  /** A schema that cannot be used, with where in the schema's own text, when that is known. */
  public static final class SchemaException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int line;
    private final int column;

    public SchemaException(String message, int line, int column) {
      super(message, null, false, false);
      this.line = line;
      this.column = column;
    }

    public SchemaException(String message) {
      this(message, 0, 0);
    }

    /** 1-based line in the schema text, or 0 when unknown. */
    public int line() {
      return line;
    }

    /** 1-based column in the schema text, or 0 when unknown. */
    public int column() {
      return column;
    }
  }

  /** Parses Avro schema text; the schema must be a record. */
  public static Schema avro(String json) throws SchemaException {
    Schema s;
    try {
      s = new Schema.Parser().parse(json);
    } catch (RuntimeException e) {
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof JsonProcessingException j && j.getLocation() != null) {
          JsonLocation at = j.getLocation();
          throw new SchemaException(
              "not valid JSON: " + Messages.clip(j.getOriginalMessage()),
              at.getLineNr(),
              at.getColumnNr());
        }
      }
      throw new SchemaException("not a valid Avro schema: " + Messages.clip(e.getMessage()));
    }
    if (s.getType() != Schema.Type.RECORD) {
      throw new SchemaException(
          "the Avro schema is " + SchemaTypes.describe(s) + "; a source's records need a record");
    }
    return s;
  }

  /**
   * Why records written with {@code writer} cannot be read with {@code reader} by Avro's schema
   * resolution, or null when they can.
   */
  public static String avroIncompatibility(Schema reader, Schema writer) {
    SchemaCompatibility.SchemaPairCompatibility c =
        SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
    if (c.getType() == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      return null;
    }
    List<String> reasons = new ArrayList<>();
    for (SchemaCompatibility.Incompatibility i : c.getResult().getIncompatibilities()) {
      reasons.add(
          i.getType().name().toLowerCase(java.util.Locale.ROOT)
              + " at "
              + i.getLocation()
              + ": "
              + i.getMessage());
    }
    return reasons.isEmpty() ? c.getDescription() : String.join("; ", reasons);
  }

  /**
   * The message {@code fullName} of a FileDescriptorSet (which must hold every file the message's
   * file imports, as {@code protoc --include_imports} writes it).
   */
  public static Descriptor protobuf(ByteString descriptorSet, String fullName)
      throws SchemaException {
    Map<String, FileDescriptor> files = files(descriptorSet);
    for (FileDescriptor f : files.values()) {
      Descriptor d = find(f, fullName);
      if (d != null) {
        return d;
      }
    }
    List<String> names = new ArrayList<>();
    files.values().forEach(f -> collect(f.getMessageTypes(), names));
    throw new SchemaException(
        "no message "
            + Messages.quote(fullName)
            + " in the descriptor set; it has "
            + (names.isEmpty() ? "no messages" : Messages.list(names)));
  }

  /**
   * The message a schema-registry message-index list selects: {@code indexes} walks the message
   * types of the file that declares {@code mainMessage} (the first index among its top-level
   * messages, each next one among the nested messages of the last); an empty list is the first
   * top-level message.
   */
  public static Descriptor protobufByIndexes(
      ByteString descriptorSet, String mainMessage, List<Integer> indexes) throws SchemaException {
    FileDescriptor file = protobuf(descriptorSet, mainMessage).getFile();
    List<Integer> path = indexes.isEmpty() ? List.of(0) : indexes;
    List<Descriptor> level = file.getMessageTypes();
    Descriptor d = null;
    for (int i : path) {
      if (i < 0 || i >= level.size()) {
        throw new SchemaException(
            "message index "
                + i
                + " (of "
                + path
                + ") is past the "
                + level.size()
                + " messages of "
                + (d == null ? file.getName() : d.getFullName()));
      }
      d = level.get(i);
      level = d.getNestedTypes();
    }
    return d;
  }

  /**
   * Why records written with message {@code writer} cannot be read as {@code reader}, or null when
   * they can: fields are matched by number, and each number both use must have the same type on
   * both sides, or a type the reader's widens without loss (int32 to int64, uint32 to uint64 or
   * int64, sint32 to sint64, float to double is not one: their encodings differ), the same
   * cardinality, and the same message or enum. Fields only one side has are fine (added or
   * removed).
   */
  public static String protobufIncompatibility(Descriptor reader, Descriptor writer) {
    List<String> reasons = new ArrayList<>();
    compare(reader, writer, "", reasons, new HashSet<>());
    return reasons.isEmpty() ? null : String.join("; ", reasons);
  }

  private static void compare(
      Descriptor reader, Descriptor writer, String prefix, List<String> out, Set<String> seen) {
    if (!seen.add(reader.getFullName() + "<-" + writer.getFullName())) {
      return;
    }
    for (FieldDescriptor r : reader.getFields()) {
      FieldDescriptor w = writer.findFieldByNumber(r.getNumber());
      if (w == null) {
        continue;
      }
      String at = "field " + r.getNumber() + " (" + prefix + r.getName() + ")";
      if (r.isRepeated() != w.isRepeated()) {
        out.add(
            at
                + " is "
                + SchemaTypes.describe(w)
                + " in the writer and "
                + SchemaTypes.describe(r)
                + " in the reader");
        continue;
      }
      if (r.getType() == FieldDescriptor.Type.MESSAGE
          && w.getType() == FieldDescriptor.Type.MESSAGE) {
        if (!r.getMessageType().getFullName().equals(w.getMessageType().getFullName())) {
          compare(r.getMessageType(), w.getMessageType(), prefix + r.getName() + ".", out, seen);
        }
        continue;
      }
      if (r.getType() == FieldDescriptor.Type.ENUM && w.getType() == FieldDescriptor.Type.ENUM) {
        continue; // numbers the reader's enum lacks are refused per record
      }
      if (r.getType() != w.getType() && !widens(w.getType(), r.getType())) {
        out.add(
            at
                + " is "
                + SchemaTypes.describe(w)
                + " in the writer and "
                + SchemaTypes.describe(r)
                + " in the reader");
      }
    }
  }

  private static boolean widens(FieldDescriptor.Type from, FieldDescriptor.Type to) {
    return switch (from) {
      case INT32 -> to == FieldDescriptor.Type.INT64;
      case UINT32 -> to == FieldDescriptor.Type.UINT64 || to == FieldDescriptor.Type.INT64;
      case SINT32 -> to == FieldDescriptor.Type.SINT64;
      default -> false;
    };
  }

  /** Every file of a descriptor set, built against its imports, by name. */
  private static Map<String, FileDescriptor> files(ByteString bytes) throws SchemaException {
    FileDescriptorSet set;
    try {
      set = FileDescriptorSet.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new SchemaException(
          "not a Protobuf descriptor set (protoc --include_imports --descriptor_set_out): "
              + Messages.clip(e.getMessage()));
    }
    if (set.getFileCount() == 0) {
      throw new SchemaException("the descriptor set holds no files");
    }
    Map<String, FileDescriptorProto> protos = new HashMap<>();
    for (FileDescriptorProto p : set.getFileList()) {
      protos.put(p.getName(), p);
    }
    Map<String, FileDescriptor> built = new java.util.LinkedHashMap<>();
    for (FileDescriptorProto p : set.getFileList()) {
      build(p.getName(), protos, built, new HashSet<>());
    }
    return built;
  }

  private static FileDescriptor build(
      String name,
      Map<String, FileDescriptorProto> protos,
      Map<String, FileDescriptor> built,
      Set<String> visiting)
      throws SchemaException {
    FileDescriptor done = built.get(name);
    if (done != null) {
      return done;
    }
    FileDescriptorProto p = protos.get(name);
    if (p == null) {
      throw new SchemaException(
          "the descriptor set lacks "
              + Messages.quote(name)
              + ", which another of its files imports; write it with protoc --include_imports");
    }
    if (!visiting.add(name)) {
      throw new SchemaException("the files of the descriptor set import each other: " + name);
    }
    List<FileDescriptor> deps = new ArrayList<>();
    for (String dep : p.getDependencyList()) {
      deps.add(build(dep, protos, built, visiting));
    }
    try {
      FileDescriptor f = FileDescriptor.buildFrom(p, deps.toArray(new FileDescriptor[0]));
      built.put(name, f);
      return f;
    } catch (DescriptorValidationException e) {
      throw new SchemaException(
          "file " + Messages.quote(name) + " of the descriptor set is invalid: " + e.getMessage());
    }
  }

  /** The message {@code fullName} of a file, nested ones included, or null. */
  private static Descriptor find(FileDescriptor f, String fullName) {
    List<Descriptor> todo = new ArrayList<>(f.getMessageTypes());
    while (!todo.isEmpty()) {
      Descriptor d = todo.remove(todo.size() - 1);
      if (d.getFullName().equals(fullName)) {
        return d;
      }
      todo.addAll(d.getNestedTypes());
    }
    return null;
  }

  private static void collect(List<Descriptor> ds, List<String> out) {
    for (Descriptor d : ds) {
      out.add(d.getFullName());
      collect(d.getNestedTypes(), out);
    }
  }
}

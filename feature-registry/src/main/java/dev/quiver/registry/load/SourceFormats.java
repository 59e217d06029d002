package dev.quiver.registry.load;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.registry.Location;
import dev.quiver.registry.formats.SchemaTypes;
import dev.quiver.registry.formats.SourceSchemas;
import dev.quiver.registry.util.Messages;
import dev.quiver.registry.util.StrictUtf8;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.avro.Schema;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * The format keys of a source's {@code kafka} mapping — {@code format}, {@code wire_format}, {@code
 * schema_file}, {@code message}, {@code writer_schemas} — and the checks of its declared fields
 * against the Avro or Protobuf schema. Schema files are read here, once, and their content goes
 * into the registry, so nothing reads them when the registry is served.
 *
 * <p>Not thread-safe: part of one load.
 */
final class SourceFormats {
  static final List<String> FORMATS = List.of("json", "avro", "protobuf");
  static final List<String> WIRE_FORMATS = List.of("plain", "schema_registry");

  /** The largest schema file read. */
  static final int MAX_SCHEMA_BYTES = RegistryText.MAX_BYTES;

  private static final List<String> DESCRIPTOR_SET_EXTENSIONS = List.of(".desc", ".pb", ".binpb");

  private final Path root;
  private final Problems problems;

  SourceFormats(Path root, Problems problems) {
    this.root = root;
    this.problems = problems;
  }

  /** A schema as read: its content for the registry, and parsed, for the field checks. */
  private record Loaded(SchemaContent content, Schema avro, Descriptor message) {}

  /**
   * Reads the format keys of {@code kafka} into {@code k} and checks the declared fields.
   *
   * @param fieldAt where each declared field's type is written
   */
  void read(
      YamlMap kafka,
      String source,
      KafkaSource.Builder k,
      List<Field> declared,
      Function<String, Location> fieldAt) {
    String format = kafka.string("format").orElse("json");
    if (!FORMATS.contains(format)) {
      problems.add(
          kafka.valueAt("format"),
          "unsupported format "
              + Messages.quote(format)
              + Names.suggestion(format, FORMATS)
              + "; expected one of: "
              + String.join(", ", FORMATS));
      return;
    }
    k.setFormat(format);
    String what = "source " + Messages.quote(source);
    if (format.equals("json")) {
      for (String key : List.of("wire_format", "schema_file", "message", "writer_schemas")) {
        if (kafka.has(key)) {
          problems.add(
              kafka.keyAt(key),
              "'" + key + "' applies to avro and protobuf sources; " + what + " has format json");
        }
      }
      return;
    }
    String wire = kafka.string("wire_format").orElse("plain");
    if (!WIRE_FORMATS.contains(wire)) {
      problems.add(
          kafka.valueAt("wire_format"),
          "unknown wire_format "
              + Messages.quote(wire)
              + Names.suggestion(wire, WIRE_FORMATS)
              + "; expected one of: "
              + String.join(", ", WIRE_FORMATS));
      return;
    }
    k.setWireFormat(wire);
    boolean protobuf = format.equals("protobuf");
    String message = null;
    if (protobuf) {
      if (!kafka.has("message")) {
        problems.add(
            kafka.location(),
            "missing required key 'message' in 'kafka' of "
                + what
                + ": the full name of the records' Protobuf message, e.g. shop.v1.Order");
      } else {
        message = kafka.string("message").orElse(null);
      }
    } else if (kafka.has("message")) {
      problems.add(kafka.keyAt("message"), "'message' applies to protobuf sources only");
    }
    if (!kafka.has("schema_file")) {
      problems.add(
          kafka.location(),
          "missing required key 'schema_file' in 'kafka' of "
              + what
              + " (format "
              + format
              + "): the "
              + (protobuf ? "Protobuf descriptor set" : "Avro schema (.avsc)")
              + " its records are read with");
    }
    boolean registry = wire.equals("schema_registry");
    if (!registry && kafka.has("writer_schemas")) {
      problems.add(
          kafka.keyAt("writer_schemas"),
          "'writer_schemas' applies to wire_format schema_registry; " + what + " is plain");
    }
    if (registry && !kafka.has("writer_schemas")) {
      problems.add(
          kafka.location(),
          "missing required key 'writer_schemas' in 'kafka' of "
              + what
              + ": with wire_format schema_registry, the schemas records may be written with, by"
              + " registry id, e.g. {1: schemas/order-v1.avsc}");
    }
    if (!kafka.has("schema_file") || (protobuf && message == null)) {
      return;
    }
    Optional<String> file = kafka.string("schema_file");
    if (file.isEmpty()) {
      return;
    }
    Optional<Loaded> reader = load(kafka.valueAt("schema_file"), file.get(), protobuf, message);
    if (reader.isEmpty()) {
      return;
    }
    k.setSchema(reader.get().content());
    checkFields(reader.get(), declared, fieldAt, file.get());
    if (registry && kafka.has("writer_schemas")) {
      writers(kafka, protobuf, message, reader.get(), file.get(), k);
    }
  }

  private void writers(
      YamlMap kafka,
      boolean protobuf,
      String message,
      Loaded reader,
      String readerFile,
      KafkaSource.Builder k) {
    Node node = kafka.node("writer_schemas").get();
    if (!(node instanceof MappingNode mapping)) {
      problems.add(
          kafka.at(node),
          "expected a mapping of schema ids to schema files for 'writer_schemas', found "
              + YamlMap.kind(node));
      return;
    }
    if (mapping.getValue().isEmpty()) {
      problems.add(
          kafka.at(node), "'writer_schemas' lists no schema; expected {<id>: <file>, ...}");
    }
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (NodeTuple e : mapping.getValue()) {
      String key = e.getKeyNode() instanceof ScalarNode s ? s.getValue() : null;
      int id;
      try {
        id = Integer.parseInt(key == null ? "" : key);
        if (id < 0) {
          throw new NumberFormatException();
        }
      } catch (NumberFormatException bad) {
        problems.add(
            kafka.at(e.getKeyNode()),
            "writer schema id "
                + (key == null ? YamlMap.kind(e.getKeyNode()) : Messages.quote(key))
                + " is not a schema-registry id; expected an integer from 0 to 2147483647");
        continue;
      }
      if (!seen.add(id)) {
        problems.add(kafka.at(e.getKeyNode()), "writer schema id " + id + " is listed twice");
        continue;
      }
      Optional<String> path =
          kafka.scalar(e.getValueNode(), "writer_schemas." + id, "a schema file");
      if (path.isEmpty()) {
        continue;
      }
      Location at = kafka.at(e.getValueNode());
      Optional<Loaded> writer = load(at, path.get(), protobuf, message);
      if (writer.isEmpty()) {
        continue;
      }
      String why =
          protobuf
              ? SourceSchemas.protobufIncompatibility(reader.message(), writer.get().message())
              : SourceSchemas.avroIncompatibility(reader.avro(), writer.get().avro());
      if (why != null) {
        problems.add(
            at,
            "records written with writer schema "
                + id
                + " ("
                + path.get()
                + ") cannot be read with the reader schema "
                + readerFile
                + ": "
                + why);
        continue;
      }
      k.putWriterSchemas(id, writer.get().content());
    }
  }

  private void checkFields(
      Loaded schema, List<Field> declared, Function<String, Location> fieldAt, String file) {
    for (Field f : declared) {
      String problem;
      if (schema.avro() != null) {
        Schema.Field af = schema.avro().getField(f.getName());
        if (af == null) {
          List<String> names = schema.avro().getFields().stream().map(Schema.Field::name).toList();
          problems.add(
              fieldAt.apply(f.getName()),
              "field "
                  + Messages.quote(f.getName())
                  + " is not in Avro record "
                  + schema.avro().getFullName()
                  + " of "
                  + file
                  + Names.suggestion(f.getName(), names));
          continue;
        }
        problem = SchemaTypes.avroProblem(f.getType(), af.schema());
      } else {
        FieldDescriptor pf = schema.message().findFieldByName(f.getName());
        if (pf == null) {
          List<String> names =
              schema.message().getFields().stream().map(FieldDescriptor::getName).toList();
          problems.add(
              fieldAt.apply(f.getName()),
              "field "
                  + Messages.quote(f.getName())
                  + " is not in Protobuf message "
                  + schema.message().getFullName()
                  + " of "
                  + file
                  + Names.suggestion(f.getName(), names));
          continue;
        }
        problem = SchemaTypes.protobufProblem(f.getType(), pf);
      }
      if (problem != null) {
        problems.add(
            fieldAt.apply(f.getName()),
            "field " + Messages.quote(f.getName()) + " of " + file + ": " + problem);
      }
    }
  }

  /** Reads and parses one schema file, reporting at {@code at} why it cannot be. */
  private Optional<Loaded> load(Location at, String file, boolean protobuf, String message) {
    Path p = Path.of(file);
    Path base = root.toAbsolutePath().normalize();
    Path resolved = base.resolve(p).normalize();
    if (p.isAbsolute() || !resolved.startsWith(base)) {
      problems.add(
          at,
          "schema file "
              + Messages.quote(file)
              + " is outside the feature repo; expected a path relative to its root");
      return Optional.empty();
    }
    if (!Files.isRegularFile(resolved)) {
      problems.add(
          at,
          "schema file "
              + Messages.quote(file)
              + " does not exist (paths are relative to the feature repo root, "
              + root
              + ")");
      return Optional.empty();
    }
    byte[] bytes;
    try {
      bytes = protobuf && file.endsWith(".proto") ? protoc(resolved, base, file) : bytes(resolved);
    } catch (Unusable e) {
      problems.add(at, "schema file " + file + ": " + e.getMessage());
      return Optional.empty();
    }
    SchemaContent.Builder content = SchemaContent.newBuilder().setFile(file);
    try {
      if (protobuf) {
        if (!file.endsWith(".proto")
            && DESCRIPTOR_SET_EXTENSIONS.stream().noneMatch(file::endsWith)) {
          problems.add(
              at,
              "schema file "
                  + Messages.quote(file)
                  + " is not a Protobuf descriptor set; expected .desc, .pb or .binpb (protoc"
                  + " --include_imports --descriptor_set_out=FILE), or .proto");
          return Optional.empty();
        }
        ByteString set = ByteString.copyFrom(bytes);
        Descriptor d = SourceSchemas.protobuf(set, message);
        content.setProtobufDescriptorSet(set).setProtobufMessage(message);
        return Optional.of(new Loaded(content.build(), null, d));
      }
      String text;
      try {
        text = StrictUtf8.decode(bytes).toString();
      } catch (StrictUtf8.MalformedException e) {
        problems.add(
            at, "schema file " + file + " is not UTF-8 text (byte " + e.byteOffset() + ")");
        return Optional.empty();
      }
      Schema s = SourceSchemas.avro(text);
      content.setAvroSchema(text);
      return Optional.of(new Loaded(content.build(), s, null));
    } catch (SourceSchemas.SchemaException e) {
      String where = e.line() > 0 ? file + ":" + e.line() + ":" + e.column() : file;
      problems.add(at, "schema file " + where + ": " + e.getMessage());
      return Optional.empty();
    }
  }

  /** A schema file that cannot be read or compiled. */
  private static final class Unusable extends Exception {
    private static final long serialVersionUID = 1L;

    Unusable(String message) {
      super(message, null, false, false);
    }
  }

  private static byte[] bytes(Path file) throws Unusable {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes(MAX_SCHEMA_BYTES + 1);
      if (bytes.length > MAX_SCHEMA_BYTES) {
        throw new Unusable(
            "larger than the " + MAX_SCHEMA_BYTES / (1024 * 1024) + " MiB a schema file may have");
      }
      return bytes;
    } catch (IOException e) {
      throw new Unusable("cannot be read: " + e.getMessage());
    }
  }

  /**
   * Compiles a {@code .proto} file (imports resolved from the repo root) with the {@code protoc} on
   * the PATH into a descriptor set.
   */
  private static byte[] protoc(Path file, Path root, String name) throws Unusable {
    Path out;
    try {
      out = Files.createTempFile("quiver-", ".desc");
    } catch (IOException e) {
      throw new Unusable("cannot create a temporary file for protoc: " + e.getMessage());
    }
    try {
      Process p;
      try {
        p =
            new ProcessBuilder(
                    List.of(
                        "protoc",
                        "--include_imports",
                        "--descriptor_set_out=" + out,
                        "--proto_path=" + root,
                        root.relativize(file).toString()))
                .redirectErrorStream(true)
                .start();
      } catch (IOException e) {
        throw new Unusable(
            "compiling a .proto file needs protoc on the PATH, and there is none: install it"
                + " (Debian: apt-get install protobuf-compiler), or give a descriptor set written"
                + " by protoc --include_imports --descriptor_set_out="
                + name.replaceAll("\\.proto$", ".desc")
                + " "
                + name);
      }
      String output;
      try (InputStream in = p.getInputStream()) {
        output = new String(in.readNBytes(64 * 1024), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new Unusable("protoc did not finish within 60 s");
        }
      } catch (IOException | InterruptedException e) {
        p.destroyForcibly();
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw new Unusable("protoc failed: " + e.getMessage());
      }
      if (p.exitValue() != 0) {
        throw new Unusable("protoc failed: " + Messages.clip(output.strip()));
      }
      return bytes(out);
    } finally {
      try {
        Files.deleteIfExists(out);
      } catch (IOException ignored) {
        // a temporary file
      }
    }
  }
}

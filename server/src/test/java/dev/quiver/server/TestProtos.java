package dev.quiver.server;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Timestamp;

/**
 * Protobuf descriptor sets for tests, built as protoc would write them for a proto3 file (with
 * {@code --include_imports}).
 */
final class TestProtos {
  private TestProtos() {}

  /** A proto3 message under construction. */
  public static final class Msg {
    final DescriptorProto.Builder b;

    public Msg(String name) {
      b = DescriptorProto.newBuilder().setName(name);
    }

    /** A field without presence. */
    public Msg field(String name, int number, FieldDescriptorProto.Type type) {
      b.addField(base(name, number, type));
      return this;
    }

    /** A proto3 {@code optional} field (with presence). */
    public Msg optional(String name, int number, FieldDescriptorProto.Type type) {
      b.addOneofDecl(OneofDescriptorProto.newBuilder().setName("_" + name));
      b.addField(
          base(name, number, type)
              .setProto3Optional(true)
              .setOneofIndex(b.getOneofDeclCount() - 1));
      return this;
    }

    public Msg repeated(String name, int number, FieldDescriptorProto.Type type) {
      b.addField(base(name, number, type).setLabel(FieldDescriptorProto.Label.LABEL_REPEATED));
      return this;
    }

    /** A message or enum field: {@code typeName} is fully qualified with a leading dot. */
    public Msg typed(String name, int number, FieldDescriptorProto.Type type, String typeName) {
      b.addField(base(name, number, type).setTypeName(typeName));
      return this;
    }

    public Msg nested(Msg m) {
      b.addNestedType(m.b);
      return this;
    }

    private static FieldDescriptorProto.Builder base(
        String name, int number, FieldDescriptorProto.Type type) {
      return FieldDescriptorProto.newBuilder()
          .setName(name)
          .setNumber(number)
          .setType(type)
          .setJsonName(name)
          .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL);
    }
  }

  /** A proto3 file importing google/protobuf/timestamp.proto, with an enum {@code Color}. */
  public static FileDescriptorSet set(String file, String pkg, Msg... messages) {
    FileDescriptorProto.Builder f =
        FileDescriptorProto.newBuilder()
            .setName(file)
            .setPackage(pkg)
            .setSyntax("proto3")
            .addDependency("google/protobuf/timestamp.proto")
            .addEnumType(
                EnumDescriptorProto.newBuilder()
                    .setName("Color")
                    .addValue(EnumValueDescriptorProto.newBuilder().setName("RED").setNumber(0))
                    .addValue(EnumValueDescriptorProto.newBuilder().setName("GREEN").setNumber(1)));
    for (Msg m : messages) {
      f.addMessageType(m.b);
    }
    return FileDescriptorSet.newBuilder()
        .addFile(Timestamp.getDescriptor().getFile().toProto())
        .addFile(f)
        .build();
  }
}

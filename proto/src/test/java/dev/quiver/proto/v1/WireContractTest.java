package dev.quiver.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Field numbers and enum values of quiver.v1 are never reused or renumbered. {@code
 * wire-contract.txt} records every one that was ever published; this test fails when one changes or
 * disappears without being reserved, or when a new field takes a recorded number. New fields are
 * added to the file in the same change that adds them.
 */
class WireContractTest {
  static final List<FileDescriptor> FILES =
      List.of(
          ValuesProto.getDescriptor(),
          RegistryProto.getDescriptor(),
          ServingProto.getDescriptor(),
          RegistryServiceProto.getDescriptor());

  /** Every field and enum value as {@code Type.name=number}. */
  static Map<String, Integer> current() {
    Map<String, Integer> out = new TreeMap<>();
    for (FileDescriptor f : FILES) {
      for (Descriptor m : f.getMessageTypes()) {
        message(m, out);
      }
      for (EnumDescriptor e : f.getEnumTypes()) {
        enumeration(e, out);
      }
    }
    return out;
  }

  static void message(Descriptor m, Map<String, Integer> out) {
    for (FieldDescriptor field : m.getFields()) {
      out.put(m.getFullName() + "." + field.getName(), field.getNumber());
    }
    for (Descriptor nested : m.getNestedTypes()) {
      if (!nested.getOptions().getMapEntry()) {
        message(nested, out);
      }
    }
    for (EnumDescriptor e : m.getEnumTypes()) {
      enumeration(e, out);
    }
  }

  static void enumeration(EnumDescriptor e, Map<String, Integer> out) {
    for (EnumValueDescriptor v : e.getValues()) {
      out.put(e.getFullName() + "." + v.getName(), v.getNumber());
    }
  }

  static Map<String, Integer> recorded() throws IOException {
    Map<String, Integer> out = new TreeMap<>();
    try (InputStream in = WireContractTest.class.getResourceAsStream("/wire-contract.txt")) {
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] kv = line.split("=");
        out.put(kv[0].trim(), Integer.parseInt(kv[1].trim()));
      }
    }
    return out;
  }

  @Test
  void recordedFieldsKeepTheirNumbers() throws IOException {
    Map<String, Integer> now = current();
    List<String> broken = new ArrayList<>();
    recorded()
        .forEach(
            (name, number) -> {
              Integer actual = now.get(name);
              if (actual == null) {
                broken.add(name + "=" + number + " disappeared (reserve its number instead)");
              } else if (!actual.equals(number)) {
                broken.add(name + " was " + number + ", is now " + actual);
              }
            });
    assertThat(broken).isEmpty();
  }

  @Test
  void newFieldsAreRecordedAndReuseNoNumber() throws IOException {
    Map<String, Integer> recorded = recorded();
    List<String> unrecorded = new ArrayList<>();
    current()
        .forEach(
            (name, number) -> {
              if (!recorded.containsKey(name)) {
                unrecorded.add(name + "=" + number);
              }
            });
    assertThat(unrecorded).as("add these lines to wire-contract.txt").isEmpty();
  }
}

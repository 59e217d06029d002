package dev.quiver.bench;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import dev.quiver.ingestion.BadRecordException;
import dev.quiver.ingestion.JsonRecordDecoder;
import dev.quiver.ingestion.RecordEncoder;
import dev.quiver.ingestion.SourceRecords;
import dev.quiver.proto.v1.Field;
import dev.quiver.proto.v1.KafkaSource;
import dev.quiver.proto.v1.SchemaContent;
import dev.quiver.proto.v1.Source;
import dev.quiver.registry.Types;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Decoding throughput of Avro and Protobuf records against JSON: the same events, encoded once in
 * each format (JSON lines, binary Avro, Protobuf; plain and in the schema-registry wire format),
 * read by ingestion's own path ({@link SourceRecords#read}: the format's decoder, then the checks
 * that do not depend on the format) on one thread, in the same run.
 *
 * <p>Usage: {@code java -cp bench/target/quiver-bench.jar dev.quiver.bench.DecodeBench [records]}
 */
public final class DecodeBench {
  private DecodeBench() {}

  static volatile long sink;

  static final String AVRO =
      """
      {"type": "record", "name": "Event", "namespace": "bench", "fields": [
        {"name": "user_id", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "amount", "type": ["null", "double"], "default": null},
        {"name": "qty", "type": ["null", "int"], "default": null},
        {"name": "merchant", "type": ["null", "long"], "default": null},
        {"name": "online", "type": ["null", "boolean"], "default": null},
        {"name": "country", "type": ["null", "string"], "default": null},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "score", "type": ["null", "float"], "default": null},
        {"name": "embedding", "type": {"type": "array", "items": "float"}, "default": []}
      ]}
      """;

  static final List<String[]> FIELDS =
      List.of(
          new String[] {"user_id", "string"},
          new String[] {"ts", "timestamp"},
          new String[] {"amount", "double"},
          new String[] {"qty", "int32"},
          new String[] {"merchant", "int64"},
          new String[] {"online", "bool"},
          new String[] {"country", "string"},
          new String[] {"tags", "list<string>"},
          new String[] {"score", "float"},
          new String[] {"embedding", "list<float>"});

  public static void main(String[] args) throws Exception {
    int records = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    List<String> events = events(records, new Random(3));
    String[] names = {
      "json", "avro", "avro (schema registry)", "protobuf", "protobuf (schema registry)"
    };
    Source[] sources = {
      source("json", "", null, null),
      source("avro", "plain", avro(), null),
      source("avro", "schema_registry", avro(), Map.of(1, avro())),
      source("protobuf", "plain", proto(), null),
      source("protobuf", "schema_registry", proto(), Map.of(1, proto()))
    };
    byte[][][] values = new byte[sources.length][][];
    for (int s = 0; s < sources.length; s++) {
      values[s] = encode(sources[s], events, s == 0);
    }
    System.out.printf(
        "%,d events, 10 fields (string, timestamp, double, int32, int64, bool, string, list<string>,"
            + " float, list<float> of 8), one thread; medians of 7 runs after 3 warm-up runs, the formats taking turns in each%n",
        records);
    System.out.println("| format | bytes/record | records/s | ns/record | vs JSON |");
    System.out.println("|---|---|---|---|---|");
    // Formats take turns within each run, so that load from elsewhere on the machine falls on
    // all of them alike.
    SourceRecords[] readers = new SourceRecords[sources.length];
    for (int s = 0; s < sources.length; s++) {
      readers[s] = SourceRecords.of(sources[s], Set.of("user_id"));
    }
    double[][] rates = new double[sources.length][7];
    for (int run = -3; run < 7; run++) {
      for (int s = 0; s < sources.length; s++) {
        long t0 = System.nanoTime();
        long n = 0;
        for (byte[] v : values[s]) {
          n += readers[s].read(v).eventTimeMicros();
        }
        long t1 = System.nanoTime();
        sink += n;
        if (run >= 0) {
          rates[s][run] = values[s].length * 1e9 / (t1 - t0);
        }
      }
    }
    double json = 0;
    for (int s = 0; s < sources.length; s++) {
      Arrays.sort(rates[s]);
      double rate = rates[s][3];
      if (s == 0) {
        json = rate;
      }
      long bytes = 0;
      for (byte[] v : values[s]) {
        bytes += v.length;
      }
      System.out.printf(
          "| %s | %.0f | %,.0f | %.0f | %.2f |%n",
          names[s], bytes / (double) values[s].length, rate, 1e9 / rate, rate / json);
    }
  }

  static List<String> events(int n, Random r) {
    List<String> out = new ArrayList<>(n);
    Instant base = Instant.parse("2026-11-01T00:00:00Z");
    for (int i = 0; i < n; i++) {
      StringBuilder e =
          new StringBuilder("{\"user_id\":\"user-").append(r.nextInt(1_000_000)).append('"');
      e.append(",\"ts\":\"")
          .append(base.plusNanos(r.nextInt(1_000_000_000) * 1000L * 2))
          .append('"');
      e.append(",\"amount\":").append(r.nextInt(10_000_000) / 100.0);
      e.append(",\"qty\":").append(1 + r.nextInt(20));
      e.append(",\"merchant\":").append(r.nextInt(100_000));
      e.append(",\"online\":").append(r.nextBoolean());
      e.append(",\"country\":\"")
          .append(new String[] {"US", "FR", "DE", "BR"}[r.nextInt(4)])
          .append('"');
      e.append(",\"tags\":[\"a")
          .append(r.nextInt(9))
          .append("\",\"b")
          .append(r.nextInt(9))
          .append("\"]");
      e.append(",\"score\":").append(r.nextFloat());
      e.append(",\"embedding\":[");
      for (int k = 0; k < 8; k++) {
        e.append(k == 0 ? "" : ",").append(r.nextFloat());
      }
      out.add(e.append("]}").toString());
    }
    return out;
  }

  static byte[][] encode(Source s, List<String> events, boolean json) throws BadRecordException {
    JsonRecordDecoder reader = new JsonRecordDecoder(s);
    RecordEncoder encoder = json ? null : RecordEncoder.of(s, null);
    byte[][] out = new byte[events.size()][];
    for (int i = 0; i < out.length; i++) {
      byte[] line = events.get(i).getBytes(StandardCharsets.UTF_8);
      out[i] = json ? line : encoder.encode(reader.decode(line));
    }
    return out;
  }

  static Source source(
      String format, String wire, SchemaContent schema, Map<Integer, SchemaContent> writers) {
    KafkaSource.Builder k = KafkaSource.newBuilder().setTopic("events").setFormat(format);
    if (!wire.isEmpty()) {
      k.setWireFormat(wire).setSchema(schema);
    }
    if (writers != null) {
      k.putAllWriterSchemas(writers);
    }
    Source.Builder s =
        Source.newBuilder().setName("events").setKafka(k).setEventTimestampField("ts");
    for (String[] f : FIELDS) {
      s.addSchema(Field.newBuilder().setName(f[0]).setType(Types.parse(f[1]).orElseThrow()));
    }
    return s.build();
  }

  static SchemaContent avro() {
    return SchemaContent.newBuilder().setFile("event.avsc").setAvroSchema(AVRO).build();
  }

  static SchemaContent proto() {
    DescriptorProto.Builder m = DescriptorProto.newBuilder().setName("Event");
    field(m, "user_id", 1, Type.TYPE_STRING, false, false, null);
    field(m, "ts", 2, Type.TYPE_MESSAGE, false, false, ".google.protobuf.Timestamp");
    field(m, "amount", 3, Type.TYPE_DOUBLE, true, false, null);
    field(m, "qty", 4, Type.TYPE_INT32, true, false, null);
    field(m, "merchant", 5, Type.TYPE_INT64, true, false, null);
    field(m, "online", 6, Type.TYPE_BOOL, true, false, null);
    field(m, "country", 7, Type.TYPE_STRING, true, false, null);
    field(m, "tags", 8, Type.TYPE_STRING, false, true, null);
    field(m, "score", 9, Type.TYPE_FLOAT, true, false, null);
    field(m, "embedding", 10, Type.TYPE_FLOAT, false, true, null);
    FileDescriptorProto file =
        FileDescriptorProto.newBuilder()
            .setName("bench/event.proto")
            .setPackage("bench")
            .setSyntax("proto3")
            .addDependency("google/protobuf/timestamp.proto")
            .addMessageType(m)
            .build();
    FileDescriptorSet set =
        FileDescriptorSet.newBuilder()
            .addFile(com.google.protobuf.Timestamp.getDescriptor().getFile().toProto())
            .addFile(file)
            .build();
    return SchemaContent.newBuilder()
        .setFile("event.desc")
        .setProtobufDescriptorSet(set.toByteString())
        .setProtobufMessage("bench.Event")
        .build();
  }

  private static void field(
      DescriptorProto.Builder m,
      String name,
      int number,
      Type type,
      boolean optional,
      boolean repeated,
      String typeName) {
    FieldDescriptorProto.Builder f =
        FieldDescriptorProto.newBuilder()
            .setName(name)
            .setNumber(number)
            .setType(type)
            .setJsonName(name)
            .setLabel(
                repeated
                    ? FieldDescriptorProto.Label.LABEL_REPEATED
                    : FieldDescriptorProto.Label.LABEL_OPTIONAL);
    if (typeName != null) {
      f.setTypeName(typeName);
    }
    if (optional) {
      m.addOneofDecl(OneofDescriptorProto.newBuilder().setName("_" + name));
      f.setProto3Optional(true).setOneofIndex(m.getOneofDeclCount() - 1);
    }
    m.addField(f);
  }
}

package dev.quiver.offline;

import com.google.protobuf.ByteString;
import dev.quiver.registry.semantics.Micros;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.api.InitContext;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.Converter;
import org.apache.parquet.io.api.GroupConverter;
import org.apache.parquet.io.api.PrimitiveConverter;
import org.apache.parquet.io.api.RecordMaterializer;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Reads Parquet records as value arrays, straight from the column readers: only the columns asked
 * for are decoded, and no {@code Group} is built per record. Values take their Java forms: Boolean,
 * Integer (INT32), Long, Float, Double, String (STRING), ByteString (other binary), Instant
 * (TIMESTAMP), and immutable lists of those for LIST columns; null where a record has no value.
 */
public final class RowReadSupport extends ReadSupport<Object[]> {
  private final List<String> wanted;

  /**
   * @param wanted the columns to read, in the order of the arrays returned; a column a file does
   *     not have reads as null; null reads every column of the file in its order
   */
  public RowReadSupport(List<String> wanted) {
    this.wanted = wanted == null ? null : List.copyOf(wanted);
  }

  @Override
  public ReadContext init(InitContext context) {
    MessageType file = context.getFileSchema();
    if (wanted == null) {
      return new ReadContext(file);
    }
    List<Type> fields = new ArrayList<>();
    for (Type t : file.getFields()) {
      if (wanted.contains(t.getName())) {
        fields.add(t);
      }
    }
    return new ReadContext(new MessageType(file.getName(), fields));
  }

  @Override
  public RecordMaterializer<Object[]> prepareForRead(
      Configuration configuration,
      Map<String, String> metadata,
      MessageType fileSchema,
      ReadContext context) {
    MessageType requested = context.getRequestedSchema();
    int width = wanted == null ? requested.getFieldCount() : wanted.size();
    int[] slots = new int[requested.getFieldCount()];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = wanted == null ? i : wanted.indexOf(requested.getFieldName(i));
    }
    return new Materializer(requested, width, slots);
  }

  private static final class Materializer extends RecordMaterializer<Object[]> {
    private final Root root;

    Materializer(MessageType schema, int width, int[] slots) {
      this.root = new Root(schema, width, slots);
    }

    @Override
    public Object[] getCurrentRecord() {
      return root.record;
    }

    @Override
    public GroupConverter getRootConverter() {
      return root;
    }
  }

  /** Where a converter puts a value. */
  private interface Sink {
    void accept(Object value);
  }

  private static final class Root extends GroupConverter {
    private final int width;
    private final Converter[] fields;
    Object[] record;

    Root(MessageType schema, int width, int[] slots) {
      this.width = width;
      this.fields = new Converter[schema.getFieldCount()];
      for (int i = 0; i < fields.length; i++) {
        int slot = slots[i];
        Type t = schema.getType(i);
        Sink sink = v -> record[slot] = v;
        fields[i] = t.isPrimitive() ? primitive(t.asPrimitiveType(), sink) : new ListField(t, sink);
      }
    }

    @Override
    public Converter getConverter(int fieldIndex) {
      return fields[fieldIndex];
    }

    @Override
    public void start() {
      record = new Object[width];
    }

    @Override
    public void end() {}
  }

  /** A LIST column: {@code <name> (LIST) { repeated group list { element } }}. */
  private static final class ListField extends GroupConverter {
    private final Sink sink;
    private final GroupConverter repeated;
    private List<Object> values;

    ListField(Type type, Sink sink) {
      this.sink = sink;
      GroupType list = type.asGroupType().getType(0).asGroupType();
      Converter element = primitive(list.getType(0).asPrimitiveType(), v -> values.add(v));
      this.repeated =
          new GroupConverter() {
            @Override
            public Converter getConverter(int fieldIndex) {
              return element;
            }

            @Override
            public void start() {}

            @Override
            public void end() {}
          };
    }

    @Override
    public Converter getConverter(int fieldIndex) {
      return repeated;
    }

    @Override
    public void start() {
      values = new ArrayList<>();
    }

    @Override
    public void end() {
      sink.accept(List.copyOf(values));
    }
  }

  private static PrimitiveConverter primitive(PrimitiveType t, Sink sink) {
    LogicalTypeAnnotation logical = t.getLogicalTypeAnnotation();
    boolean timestamp = logical instanceof LogicalTypeAnnotation.TimestampLogicalTypeAnnotation;
    // Microseconds per stored unit, negative for nanoseconds (divide).
    long unit =
        logical instanceof LogicalTypeAnnotation.TimestampLogicalTypeAnnotation ts
            ? switch (ts.getUnit()) {
              case MILLIS -> 1000L;
              case MICROS -> 1L;
              case NANOS -> -1000L;
            }
            : 1L;
    boolean text = logical instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation;
    return new PrimitiveConverter() {
      @Override
      public void addBoolean(boolean value) {
        sink.accept(value);
      }

      @Override
      public void addInt(int value) {
        sink.accept(value);
      }

      @Override
      public void addLong(long value) {
        if (!timestamp) {
          sink.accept(value);
        } else {
          sink.accept(
              Micros.toInstant(
                  unit > 0 ? Math.multiplyExact(value, unit) : Math.floorDiv(value, -unit)));
        }
      }

      @Override
      public void addFloat(float value) {
        sink.accept(value);
      }

      @Override
      public void addDouble(double value) {
        sink.accept(value);
      }

      @Override
      public void addBinary(Binary value) {
        sink.accept(
            text ? value.toStringUsingUTF8() : (Object) ByteString.copyFrom(value.getBytes()));
      }
    };
  }
}

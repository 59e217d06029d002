package dev.quiver.online;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.quiver.proto.v1.DoubleList;
import dev.quiver.proto.v1.FeatureColumn;
import dev.quiver.proto.v1.FeatureStatus;
import dev.quiver.proto.v1.GetOnlineFeaturesResponse;
import dev.quiver.proto.v1.StringList;
import dev.quiver.proto.v1.Value;
import dev.quiver.registry.rows.Values;
import dev.quiver.registry.semantics.Micros;
import dev.quiver.registry.semantics.OrderKey;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ResponseEncoderTest {
  private static final FeatureStatus[] STATUSES = {
    FeatureStatus.PRESENT,
    FeatureStatus.NULL_VALUE,
    FeatureStatus.NOT_FOUND,
    FeatureStatus.OUTSIDE_MAX_AGE
  };

  /** Every kind of value the store holds, including ones whose encoding is long or empty. */
  private static Value randomValue(Random random) {
    return switch (random.nextInt(10)) {
      case 0 -> Value.newBuilder().setBoolValue(random.nextBoolean()).build();
      case 1 -> Value.newBuilder().setInt32Value(random.nextInt()).build();
      case 2 -> Value.newBuilder().setInt64Value(random.nextLong()).build();
      case 3 -> Value.newBuilder().setFloatValue(random.nextFloat()).build();
      case 4 -> Value.newBuilder().setDoubleValue(random.nextGaussian()).build();
      case 5 ->
          Value.newBuilder().setStringValue("ünïcødé-" + "x".repeat(random.nextInt(300))).build();
      case 6 ->
          Value.newBuilder()
              .setBytesValue(ByteString.copyFrom(new byte[random.nextInt(200)]))
              .build();
      case 7 ->
          Value.newBuilder()
              .setDoubleListValue(
                  DoubleList.newBuilder().addAllValues(List.of(1.5, -2.0, random.nextDouble())))
              .build();
      case 8 ->
          Value.newBuilder().setStringListValue(StringList.newBuilder().addValues("a")).build();
      default -> Values.nullValue();
    };
  }

  @Test
  void writesExactlyWhatTheGeneratedMessageSerializesTo() throws Exception {
    Random random = new Random(42);
    for (int round = 0; round < 300; round++) {
      int rows = 1 + random.nextInt(round < 200 ? 5 : 300);
      int columns = 1 + random.nextInt(12);
      long version = round % 7 == 0 ? 0 : random.nextInt(1 << 20);
      ResponseEncoder encoder = new ResponseEncoder(rows);
      GetOnlineFeaturesResponse.Builder expected =
          GetOnlineFeaturesResponse.newBuilder().setRowCount(rows).setRegistryVersion(version);
      for (int c = 0; c < columns; c++) {
        String name = "feature_" + c + (c % 3 == 0 ? "_é" : "");
        ResponseEncoder.Column column = encoder.column(name);
        FeatureColumn.Builder want = FeatureColumn.newBuilder().setName(name);
        for (int r = 0; r < rows; r++) {
          FeatureStatus status = STATUSES[random.nextInt(STATUSES.length)];
          Value value =
              status == FeatureStatus.PRESENT ? randomValue(random) : Value.getDefaultInstance();
          // Times before 1970 and on whole seconds encode differently; so does no time at all.
          long micros =
              switch (random.nextInt(4)) {
                case 0 -> -random.nextInt(1_000_000_000);
                case 1 -> random.nextInt(1_000_000) * 1000L;
                default -> 1_700_000_000_000L + random.nextInt(1_000_000_000);
              };
          boolean noTime = status == FeatureStatus.NOT_FOUND;
          // Values are handed over inside a larger array, as they lie in a stored row.
          byte[] serialized = value.toByteArray();
          byte[] around = new byte[serialized.length + 7];
          System.arraycopy(serialized, 0, around, 3, serialized.length);
          column.set(
              r,
              around,
              3,
              serialized.length,
              status,
              noTime ? ResponseEncoder.NO_TIMESTAMP : ResponseEncoder.timestamp(micros));
          want.addValues(value)
              .addStatuses(status)
              .addEventTimestamps(
                  noTime ? Timestamp.getDefaultInstance() : Micros.timestamp(micros));
        }
        expected.addFeatures(want);
      }
      byte[] bytes = encoder.encode(version);
      GetOnlineFeaturesResponse message = expected.build();
      assertThat(GetOnlineFeaturesResponse.parseFrom(bytes)).isEqualTo(message);
      assertThat(bytes).as("round %d", round).isEqualTo(message.toByteArray());
    }
  }

  @Test
  void storedRowsHandOverTheirValuesUnparsed() {
    int[] ids = {3, 7, 9};
    Value[] values = {
      Value.newBuilder().setStringValue("FR").build(),
      Values.nullValue(),
      Value.newBuilder().setDoubleValue(2.5).build()
    };
    StoredRow row =
        StoredRow.decode(StoredRow.encode(new OrderKey(1_000L, 2_000L, 1, 42L), ids, values));
    assertThat(row.order()).isEqualTo(new OrderKey(1_000L, 2_000L, 1, 42L));
    for (int i = 0; i < ids.length; i++) {
      int at = row.indexOf(ids[i]);
      byte[] slice =
          java.util.Arrays.copyOfRange(
              row.bytes(), row.offset(at), row.offset(at) + row.length(at));
      assertThat(slice).isEqualTo(values[i].toByteArray());
      assertThat(row.value(ids[i])).isEqualTo(values[i]);
    }
    assertThat(row.indexOf(4)).isNegative();
    assertThat(row.value(4)).isNull();
  }
}

package dev.quiver.registry.semantics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.DateTimeException;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class Rfc3339Test {
  @Test
  void ordinaryTimestampsAreIsoOffsetDateTimes() {
    assertThat(Rfc3339.parse("2026-01-31T12:00:00.123456Z"))
        .isEqualTo(Instant.parse("2026-01-31T12:00:00.123456Z"));
    assertThat(Rfc3339.parse("2026-01-31t13:00:00+01:00"))
        .isEqualTo(Instant.parse("2026-01-31T12:00:00Z"));
  }

  @Test
  void aLeapSecondIsTheLastMicrosecondOfItsMinuteInAnyZone() {
    Instant last = Instant.parse("2016-12-31T23:59:59.999999Z");
    assertThat(Rfc3339.parse("2016-12-31T23:59:60Z")).isEqualTo(last);
    assertThat(Rfc3339.parse("2016-12-31T23:59:60.5Z")).isEqualTo(last);
    assertThat(Rfc3339.parse("2017-01-01T00:59:60+01:00")).isEqualTo(last);
  }

  @Test
  void secondSixtyAnywhereElseIsRefused() {
    assertThatThrownBy(() -> Rfc3339.parse("2016-12-31T12:00:60Z"))
        .isInstanceOf(Rfc3339.NotALeapSecondException.class)
        .hasMessageContaining("23:59:60 UTC");
    assertThatThrownBy(() -> Rfc3339.parse("2016-12-31T23:59:60+01:00"))
        .isInstanceOf(Rfc3339.NotALeapSecondException.class);
    assertThatThrownBy(() -> Rfc3339.parse("2016-12-31T23:59:61Z"))
        .isInstanceOf(DateTimeException.class)
        .isNotInstanceOf(Rfc3339.NotALeapSecondException.class);
    assertThatThrownBy(() -> Rfc3339.parse("yesterday")).isInstanceOf(DateTimeException.class);
  }
}

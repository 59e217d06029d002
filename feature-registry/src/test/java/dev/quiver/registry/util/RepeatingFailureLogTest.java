package dev.quiver.registry.util;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.SubstituteLogger;

class RepeatingFailureLogTest {
  @Test
  void aRepeatingFailureIsLoggedOnceThenOncePerIntervalWithACount() {
    java.util.List<String> lines = new java.util.ArrayList<>();
    SubstituteLogger logger = new SubstituteLogger("test", null, false);
    logger.setDelegate(new RecordingLogger(lines));
    AtomicLong clock = new AtomicLong();
    RepeatingFailureLog log =
        new RepeatingFailureLog(logger, "writing rows", Duration.ofSeconds(60), clock::get);

    for (int i = 0; i < 3600; i++) {
      log.failure("no space left on device", new java.io.IOException("disk full"));
      clock.addAndGet(Duration.ofSeconds(1).toNanos());
    }
    assertThat(log.failing()).isTrue();
    assertThat(log.lastMessage()).isEqualTo("no space left on device");
    log.success();
    assertThat(log.failing()).isFalse();

    // One first line, one a minute for the hour, one on recovery.
    assertThat(lines).hasSize(1 + 59 + 1);
    assertThat(lines.get(0)).isEqualTo("writing rows: no space left on device");
    assertThat(lines.get(1)).startsWith("writing rows: still failing, 60 more times");
    assertThat(lines.get(lines.size() - 1))
        .isEqualTo("writing rows: recovered after 3600 failures");
  }

  /** Records formatted lines, as a log would print them. */
  private static final class RecordingLogger extends org.slf4j.helpers.MarkerIgnoringBase {
    private final java.util.List<String> lines;

    RecordingLogger(java.util.List<String> lines) {
      this.lines = lines;
    }

    private void add(String format, Object... args) {
      lines.add(MessageFormatter.arrayFormat(format, args).getMessage());
    }

    @Override
    public boolean isTraceEnabled() {
      return false;
    }

    @Override
    public void trace(String msg) {}

    @Override
    public void trace(String format, Object arg) {}

    @Override
    public void trace(String format, Object arg1, Object arg2) {}

    @Override
    public void trace(String format, Object... arguments) {}

    @Override
    public void trace(String msg, Throwable t) {}

    @Override
    public boolean isDebugEnabled() {
      return false;
    }

    @Override
    public void debug(String msg) {}

    @Override
    public void debug(String format, Object arg) {}

    @Override
    public void debug(String format, Object arg1, Object arg2) {}

    @Override
    public void debug(String format, Object... arguments) {}

    @Override
    public void debug(String msg, Throwable t) {}

    @Override
    public boolean isInfoEnabled() {
      return true;
    }

    @Override
    public void info(String msg) {
      add(msg);
    }

    @Override
    public void info(String format, Object arg) {
      add(format, arg);
    }

    @Override
    public void info(String format, Object arg1, Object arg2) {
      add(format, arg1, arg2);
    }

    @Override
    public void info(String format, Object... arguments) {
      add(format, arguments);
    }

    @Override
    public void info(String msg, Throwable t) {
      add(msg);
    }

    @Override
    public boolean isWarnEnabled() {
      return true;
    }

    @Override
    public void warn(String msg) {
      add(msg);
    }

    @Override
    public void warn(String format, Object arg) {
      add(format, arg);
    }

    @Override
    public void warn(String format, Object... arguments) {
      add(format, arguments);
    }

    @Override
    public void warn(String format, Object arg1, Object arg2) {
      add(format, arg1, arg2);
    }

    @Override
    public void warn(String msg, Throwable t) {
      add(msg);
    }

    @Override
    public boolean isErrorEnabled() {
      return true;
    }

    @Override
    public void error(String msg) {
      add(msg);
    }

    @Override
    public void error(String format, Object arg) {
      add(format, arg);
    }

    @Override
    public void error(String format, Object arg1, Object arg2) {
      add(format, arg1, arg2);
    }

    @Override
    public void error(String format, Object... arguments) {
      add(format, arguments);
    }

    @Override
    public void error(String msg, Throwable t) {
      add(msg);
    }
  }
}

package dev.quiver.server.cli;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code quiver} command: entry point of every subcommand. */
@Command(
    name = "quiver",
    mixinStandardHelpOptions = true,
    versionProvider = QuiverCommand.Version.class,
    description = "Quiver, a feature store for the JVM.",
    subcommands = {
      ValidateCommand.class,
      PlanCommand.class,
      ApplyCommand.class,
      RegistryCommand.class,
      ServeCommand.class,
      ProduceCommand.class,
      BackfillCommand.class,
      GetCommand.class,
      QuickstartCommand.class,
      ExportCommand.class,
      AlertsCommand.class,
      MonitorCommand.class,
      VerifyCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:validation errors, a refused plan, a conflict, or a failure",
      "2:usage error"
    })
public final class QuiverCommand implements Runnable {
  /** Exit code for validation errors, refused plans, conflicts and failures. */
  static final int FAILED = 1;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
  }

  /** A command line configured as the {@code quiver} script runs it. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new QuiverCommand());
    Map<String, CommandLine.IHelpSectionRenderer> sections = cl.getHelpSectionMap();
    sections.put(
        CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, QuiverCommand::commandList);
    cl.setHelpSectionMap(sections);
    cl.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          commandLine
              .getErr()
              .println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
          return FAILED;
        });
    return cl;
  }

  public static void main(String[] args) {
    CommandLine cl = commandLine();
    int code;
    try {
      code = cl.execute(args);
    } catch (Throwable t) {
      // An Error escaped the command: report it and exit, even if non-daemon threads still run.
      t.printStackTrace();
      code = FAILED;
    }
    cl.getOut().flush();
    cl.getErr().flush();
    System.exit(code);
  }

  /**
   * The list of subcommands in a help message: each name with its summary, the first sentence of
   * its description (its header, if it has one). Picocli's own list shows the first line of the
   * description, which cuts a sentence that goes on to the next line; this one shows the whole
   * sentence, wrapped to the usage width. Commands keep their summary to their description's first
   * line, so that it fits on one line of the list.
   */
  static String commandList(CommandLine.Help help) {
    Map<String, CommandLine.Help> subcommands = help.subcommands();
    if (subcommands.isEmpty()) {
      return "";
    }
    int names = 0;
    for (CommandLine.Help sub : subcommands.values()) {
      names = Math.max(names, sub.commandNamesText(", ").getCJKAdjustedLength());
    }
    int width = help.commandSpec().usageMessage().width();
    CommandLine.Help.TextTable table =
        CommandLine.Help.TextTable.forColumns(
            help.colorScheme(),
            new CommandLine.Help.Column(names + 2, 2, CommandLine.Help.Column.Overflow.SPAN),
            new CommandLine.Help.Column(
                width - (names + 2), 2, CommandLine.Help.Column.Overflow.WRAP));
    for (CommandLine.Help sub : subcommands.values()) {
      table.addRowValues(
          sub.commandNamesText(", "),
          help.colorScheme().text(summary(sub.commandSpec().usageMessage())));
    }
    return table.toString();
  }

  /**
   * A command's summary: its header's first line if it has one, else the first sentence of its
   * description (the whole description when no sentence ends in it).
   */
  static String summary(CommandLine.Model.UsageMessageSpec usage) {
    if (usage.header().length > 0) {
      return usage.header()[0];
    }
    String text = String.join(" ", usage.description()).strip();
    Matcher end = SENTENCE_END.matcher(text);
    return end.find() ? text.substring(0, end.start() + 1) : text;
  }

  /** The end of a sentence: a full stop, question or exclamation mark before a space or the end. */
  private static final Pattern SENTENCE_END = Pattern.compile("[.?!](\\s|$)");

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = QuiverCommand.class.getPackage().getImplementationVersion();
      return new String[] {"quiver " + (v == null ? "development build" : v)};
    }
  }
}

package bardo;

/** The "double" profile of {@link RinhaSimulation} (its own results folder name). */
public class DoubleSimulation extends RinhaSimulation {
  public DoubleSimulation() {
    super("double");
  }
}

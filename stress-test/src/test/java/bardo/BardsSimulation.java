package bardo;

/** The "bards" profile of {@link RinhaSimulation} (its own results folder name). */
public class BardsSimulation extends RinhaSimulation {
  public BardsSimulation() {
    super("bards");
  }
}

"""capacity.png: relayed Mpps and p99 latency against offered load, one curve
per backend and worker count (the data from rows.write_report, drawn by
gnuplot)."""

import os
import subprocess


def read_curves(logs):
    """(title, [(data path, curve name)]) of logs/curves.txt, or (None, [])."""
    path = os.path.join(logs, "curves.txt")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None, []
    with open(path) as f:
        lines = f.read().splitlines()
    return lines[0], [tuple(l.split("\t", 1)) for l in lines[1:] if "\t" in l]


def gnuplot_script(terminal, png, title, curves):
    """The gnuplot script: relayed Mpps above, p99 latency (log scale) below."""
    def plot(column):
        return "plot " + ", ".join(f"'{path}' using 1:{column} with linespoints title '{name}'"
                                   for path, name in curves)
    return "\n".join([
        terminal,
        f"set output '{png}'",
        f"set multiplot layout 2,1 title 'drasyl-sp capacity: {title}'",
        "set grid; set key left top; set xlabel 'offered load (Mpps)'",
        "set ylabel 'relayed (Mpps)'",
        plot(2),
        "set logscale y; set ylabel 'p99 latency (µs)'",
        plot(3),
        "unset multiplot",
    ]) + "\n"


def terminal():
    """pngcairo where gnuplot has it, else png."""
    r = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode == 0:
        return "set terminal pngcairo size 1000,800 font ',10'"
    return "set terminal png size 1000,800"


def draw(out):
    """Draws OUT/capacity.png when there are curves; an error text or None."""
    logs = os.path.join(out, "logs")
    title, curves = read_curves(logs)
    if not curves and title is None:
        return None
    script = os.path.join(logs, "capacity.gp")
    with open(script, "w") as f:
        f.write(gnuplot_script(terminal(), os.path.join(out, "capacity.png"), title, curves))
    with open(os.path.join(logs, "gnuplot.err"), "w") as err:
        r = subprocess.run(["gnuplot", script], stdin=subprocess.DEVNULL, stderr=err)
    if r.returncode != 0:
        with open(os.path.join(logs, "gnuplot.err")) as f:
            return "gnuplot failed: " + "\n".join(f.read().splitlines()[:3])
    return None

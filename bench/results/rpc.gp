set terminal svg size 720,440 dynamic font "sans,11"
set logscale x 2
set xlabel "connections (1 request in flight each); 2026-12-05 14:11 UTC, load 4.89"
set key top left
set grid
set xrange [0.8:80]
set xtics (1, 4, 16, 64)
set output "/work/main/bench/results/rpc-throughput.svg"
set ylabel "Store.Get per second"
set title "Throughput against connections"
set yrange [0:*]
plot "/work/main/bench/results/rpc-sweep.dat" using 1:2 with linespoints lw 2 title "epoll floor", "/work/main/bench/results/rpc-sweep.dat" using 1:5 with linespoints lw 2 title "Go ttrpc", "/work/main/bench/results/rpc-sweep.dat" using 1:8 with linespoints lw 2 title "sandboxd"
set output "/work/main/bench/results/rpc-latency.svg"
set ylabel "round trip, us"
set logscale y
set yrange [*:*]
set title "Latency against connections (p50 solid, p99 dashed)"
plot "/work/main/bench/results/rpc-sweep.dat" using 1:3 with linespoints lw 2 lc 1 title "epoll floor p50", "/work/main/bench/results/rpc-sweep.dat" using 1:4 with linespoints lw 1 dt 2 lc 1 title "epoll floor p99", "/work/main/bench/results/rpc-sweep.dat" using 1:6 with linespoints lw 2 lc 2 title "Go ttrpc p50", "/work/main/bench/results/rpc-sweep.dat" using 1:7 with linespoints lw 1 dt 2 lc 2 title "Go ttrpc p99", "/work/main/bench/results/rpc-sweep.dat" using 1:9 with linespoints lw 2 lc 3 title "sandboxd p50", "/work/main/bench/results/rpc-sweep.dat" using 1:10 with linespoints lw 1 dt 2 lc 3 title "sandboxd p99"

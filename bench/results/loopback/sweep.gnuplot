set terminal pngcairo size 720,440 font ',9'
set grid
set key top left
set output 'bench/results/loopback/sweep-latency.png'
set title 'sweep: latency by percentile' noenhanced
set logscale x
set logscale y
set xlabel 'percentile'
set ylabel 'latency (us)'
set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)
plot 'bench/results/loopback/sweep-latency.dat' index 0 using 2:3 with steps lw 2 title 'cached @ 2000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 1 using 2:3 with steps lw 2 title 'uncached @ 2000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 2 using 2:3 with steps lw 2 title 'cached @ 5000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 3 using 2:3 with steps lw 2 title 'uncached @ 5000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 4 using 2:3 with steps lw 2 title 'cached @ 8000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 5 using 2:3 with steps lw 2 title 'uncached @ 8000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 6 using 2:3 with steps lw 2 title 'cached @ 11000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 7 using 2:3 with steps lw 2 title 'uncached @ 11000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 8 using 2:3 with steps lw 2 title 'cached @ 14000/s' noenhanced, 'bench/results/loopback/sweep-latency.dat' index 9 using 2:3 with steps lw 2 title 'uncached @ 14000/s' noenhanced
set output 'bench/results/loopback/sweep-throughput-latency.png'
set title 'sweep: latency vs achieved throughput (open loop)' noenhanced
unset logscale x
set logscale y
set xtics auto
set xlabel 'achieved requests/s'
set ylabel 'latency from scheduled send (us)'
plot 'bench/results/loopback/sweep-throughput-latency.dat' index 0 using 2:3 with linespoints lw 2 title 'cached p50', 'bench/results/loopback/sweep-throughput-latency.dat' index 0 using 2:4 with linespoints lw 2 dt 2 title 'cached p99', 'bench/results/loopback/sweep-throughput-latency.dat' index 1 using 2:3 with linespoints lw 2 title 'uncached p50', 'bench/results/loopback/sweep-throughput-latency.dat' index 1 using 2:4 with linespoints lw 2 dt 2 title 'uncached p99'

set terminal pngcairo size 720,440 font ',9'
set grid
set key top left
set output 'bench/results/near/loopback-autograder-redis-r1-latency.png'
set title 'loopback-autograder-redis-r1: latency by percentile' noenhanced
set logscale x
set logscale y
set xlabel 'percentile'
set ylabel 'latency (us)'
set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)
plot 'bench/results/near/loopback-autograder-redis-r1-latency.dat' index 0 using 2:3 with steps lw 2 title 'autograder uncached' noenhanced, 'bench/results/near/loopback-autograder-redis-r1-latency.dat' index 1 using 2:3 with steps lw 2 title 'autograder cached' noenhanced

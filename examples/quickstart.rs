fn main() {
    println!("quickstart: coming with the simulator");
}

// io.pesakit:pesakit-android — an Android library (AAR) carrying:
//   src/main/jniLibs/<abi>/libpesakit_ffi.so   built by scripts/build-android with cargo-ndk
//   src/main/kotlin/io/pesakit/pesakit.kt      the UniFFI-generated Kotlin (package io.pesakit),
//                                              which loads "pesakit_ffi" through JNA
// Written to the standard UniFFI-on-Android recipe; unverified on the project's machines
// (they have no Android SDK or NDK). `gradle assembleRelease` writes
// build/outputs/aar/pesakit-android-release.aar.
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
    `maven-publish`
}

group = "io.pesakit"
version = "0.1.0"

android {
    namespace = "io.pesakit"
    compileSdk = 35

    defaultConfig {
        // The generated Kotlin uses java.time.Instant and java.time.Duration (API 26).
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    buildTypes {
        release {
            // The library itself is not minified; apps shrink it with consumer-rules.pro.
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // The generated code's public types extend JNA's (RustBuffer : Structure), and its
    // async functions are `suspend`: both are part of the API, hence `api`.
    api("net.java.dev.jna:jna:5.19.1@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
}

publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "io.pesakit"
            artifactId = "pesakit-android"
            afterEvaluate {
                from(components["release"])
            }
        }
    }
}
